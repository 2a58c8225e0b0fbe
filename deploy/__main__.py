"""`python -m deploy [--replicas N] [--port P] [--host H]`: N Glassbox replicas on ports P+1 ... P+N of 127.0.0.1,
behind HAProxy on H:P, which keeps each visitor on one replica (deploy/haproxy.cfg). Runs until Ctrl-C or SIGTERM,
then stops them all. Needs HAProxy (Debian: `apt-get install haproxy`)."""
from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path

from core import settings
from deploy import HAPROXY, Deployment


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    p.add_argument("--replicas", type=int, default=2, help="how many app.py servers (default 2)")
    p.add_argument("--port", type=int, default=settings.PORT.get(), help="the balancer's port (default 7860)")
    p.add_argument("--host", default=settings.HOST.raw() or "127.0.0.1",
                   help="the balancer's address (default 127.0.0.1; 0.0.0.0 serves a classroom on the LAN)")
    args = p.parse_args(argv)
    if not Path(HAPROXY).exists():
        raise SystemExit(f"HAProxy is not installed at {HAPROXY} (Debian: apt-get install haproxy).")
    # SIGTERM (a service manager's stop) ends the run as Ctrl-C does, so the replicas and HAProxy are stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    deployment = Deployment(args.replicas, args.port, args.host)
    try:
        deployment.start()
        print(f"* Glassbox through HAProxy on {deployment.url}; replicas:", flush=True)
        for name, app in deployment.replicas.items():
            print(f"  {name} {app.url} (log {app.log_path})", flush=True)
        while deployment.haproxy.poll() is None:
            time.sleep(1)
        print(f"HAProxy stopped; its output:\n{deployment.log_path.read_text()[-4000:]}", flush=True)
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:   # a replica or HAProxy did not start: the message holds the end of its log
        raise SystemExit(str(error)) from None
    finally:
        # A second Ctrl-C or SIGTERM (an impatient person, or `timeout`) would cut the stopping short and leave
        # replicas running: stopping takes a few seconds, and is let finish.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        deployment.stop()


if __name__ == "__main__":
    main()
