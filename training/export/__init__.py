"""Everything that writes or upgrades an ONNX file: a run's generator (generator, graph, sefa), the small
networks beside it (small_net, evaluator), Inception-v3 for the FID (inception), and older exports brought
up to date (upgrade)."""
