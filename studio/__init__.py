"""The bottom layer every package of GAN Studio stands on (standard library only): the one user-error
type (errors), the one registry mechanism (registry) and how every command line reports errors (cli)."""
