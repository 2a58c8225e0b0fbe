"""Two Glassbox replicas behind HAProxy (deploy.Deployment, as `python -m deploy` runs them), started once for the
module that uses them; skipped without Debian's haproxy, or failed under GLASSBOX_REQUIRE_BROWSER=1."""
from pathlib import Path

import pytest

from deploy import HAPROXY, Deployment
from tests.conftest import required


@pytest.fixture(scope="module")
def balancer():
    required(Path(HAPROXY), "apt-get install haproxy")
    deployment = Deployment(2, offline=True)
    try:
        deployment.start()
    except RuntimeError as e:
        deployment.stop()
        pytest.fail(str(e))
    yield deployment
    deployment.stop()
