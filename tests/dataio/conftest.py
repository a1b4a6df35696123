"""Every dataio test runs offline and away from the user's data: a test that finds no files must
see the "missing data" path, never a real download or the user's $GAN_STUDIO_DATA."""
import pytest

from dataio import sources


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """Keep the user's environment and cache out, and make every download fail at once (as it
    does offline); returns the list of attempted downloads."""
    monkeypatch.delenv(sources.ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    attempts = []

    def no_network(name, folder, split):
        attempts.append((name, folder, split))
        raise OSError("network disabled in tests")

    monkeypatch.setattr(sources, "download", no_network)
    return attempts
