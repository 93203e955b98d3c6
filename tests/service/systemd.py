"""Service tests, flowq under systemd (src/service.c, etc/flowq.service.in):
    systemd.py CASE FLOWQ SRCROOT TMPDIR

notify       with a fake NOTIFY_SOCKET and WATCHDOG_USEC, flowq says
             READY=1 once its socket is bound, pings WATCHDOG=1 again and
             again, says RELOADING=1 then READY=1 around SIGHUP (and keeps
             running), STOPPING=1 on SIGTERM, and exits 0
user         started as root with --user nobody on a port below 1024:
             after READY every uid and gid is nobody's, no capability is
             left, and the bound socket still receives (records counted)
user-errors  --user with an unknown user is bad usage before anything is
             bound (exit 2); not started as root, --user root is refused
             (exit 1)
unit         the unit file, with this build's paths, passes
             `systemd-analyze verify`, and has the settings
             docs/operations.md promises
"""
import os
import pwd
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "live"))
from livelib import fail, free_port, v5  # noqa: E402

CASE, FLOWQ, SRC, TMP = sys.argv[1:5]
QUERY = os.path.join(SRC, "examples", "http-download.flw")
WAIT = 20.0


def skip(msg):
    if os.environ.get("CI") == "true":
        fail("CI=true but: " + msg)
    print("SKIP: " + msg)
    sys.exit(77)


class Notify:
    """A fake service manager's notification socket."""

    def __init__(self):
        os.makedirs(TMP, exist_ok=True)
        self.path = os.path.join(TMP, "notify.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)   # as /run/systemd/notify: any user
        self.sock.settimeout(WAIT)
        self.seen = []

    def expect(self, first_line, proc):
        """Messages until one whose first line is first_line; it."""
        end = time.time() + WAIT
        while time.time() < end:
            try:
                m = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.seen.append(m)
            if m.split("\n")[0] == first_line:
                return m
        proc.kill()
        fail("no %s from flowq; seen %r; stderr: %s"
             % (first_line, self.seen[-10:], proc.communicate()[1]))


def start(args, notify, watchdog_us=None, **kw):
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    env.pop("WATCHDOG_PID", None)
    if watchdog_us:
        env["WATCHDOG_USEC"] = str(watchdog_us)
    else:
        env.pop("WATCHDOG_USEC", None)
    return subprocess.Popen([FLOWQ, "run", QUERY] + args, env=env,
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, **kw)


def case_notify():
    n = Notify()
    port = free_port()
    p = start(["-s", "udp://127.0.0.1:%d" % port], n, watchdog_us=200000)
    ready = n.expect("READY=1", p)
    if "STATUS=" not in ready:
        fail("READY without a STATUS: %r" % ready)
    n.expect("WATCHDOG=1", p)
    n.expect("WATCHDOG=1", p)
    p.send_signal(signal.SIGHUP)
    reload = n.expect("RELOADING=1", p)
    if "MONOTONIC_USEC=" not in reload:
        fail("RELOADING without MONOTONIC_USEC: %r" % reload)
    n.expect("READY=1", p)
    n.expect("WATCHDOG=1", p)   # still running after SIGHUP
    if p.poll() is not None:
        fail("SIGHUP ended flowq: %r" % p.returncode)
    p.send_signal(signal.SIGTERM)
    n.expect("STOPPING=1", p)
    rc = p.wait(timeout=WAIT)
    if rc != 0:
        fail("exit %d after SIGTERM: %s" % (rc, p.stderr.read()))


def low_port():
    for port in range(700, 1000):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    fail("no free UDP port below 1024")


def status_fields(pid):
    f = {}
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            k, _, v = line.partition(":")
            f[k] = v.split()
    return f


def case_user():
    if os.geteuid() != 0:
        skip("--user needs root (CI runs as root)")
    nobody = pwd.getpwnam("nobody")
    n = Notify()
    port = low_port()
    p = start(["-s", "udp://127.0.0.1:%d" % port, "--user", "nobody",
               "--stats-json", "--count"], n)
    n.expect("READY=1", p)
    f = status_fields(p.pid)
    if f["Uid"] != [str(nobody.pw_uid)] * 4 or \
            f["Gid"] != [str(nobody.pw_gid)] * 4:
        fail("ids after --user nobody: Uid %s Gid %s" % (f["Uid"], f["Gid"]))
    if f["Groups"] not in ([], [str(nobody.pw_gid)]):
        fail("supplementary groups kept: %s" % f["Groups"])
    for cap in ("CapEff", "CapPrm"):
        if int(f[cap][0], 16) != 0:
            fail("%s %s after the drop" % (cap, f[cap][0]))
    now = int(time.time() * 1000)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(5):
        s.sendto(v5([(now - 2000, now - 1000, 0x0a000001, 0x0a000002,
                      40000 + i, 80)], now, seq=i), ("127.0.0.1", port))
    # The counters on SIGUSR1, until the five records are in.
    os.set_blocking(p.stderr.fileno(), False)
    err, end = b"", time.time() + WAIT
    while b'"records":5,' not in err and time.time() < end:
        p.send_signal(signal.SIGUSR1)
        time.sleep(0.1)
        err += p.stderr.read() or b""
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=WAIT)
    if rc != 0:
        fail("exit %d: %s" % (rc, err.decode()))
    if b'"records":5,' not in err:
        fail("the socket bound as root did not receive 5 records after "
             "the drop:\n" + err.decode())


def case_user_errors():
    n = Notify()
    port = free_port()
    p = start(["-s", "udp://127.0.0.1:%d" % port, "--user",
               "no-such-user-flowq"], n)
    _, err = p.communicate(timeout=WAIT)
    if p.returncode != 2 or b"no user 'no-such-user-flowq'" not in err:
        fail("unknown user: exit %d: %s" % (p.returncode, err))
    if any(m.startswith("READY=1") for m in n.seen):
        fail("READY before the user was checked")
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")

        def demote():
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        p = start(["-s", "udp://127.0.0.1:%d" % port, "--user", "root"], n,
                  preexec_fn=demote)
    else:
        p = start(["-s", "udp://127.0.0.1:%d" % port, "--user", "root"], n)
    _, err = p.communicate(timeout=WAIT)
    if p.returncode != 1 or b"not started as root" not in err:
        fail("--user root without root: exit %d: %s" % (p.returncode, err))


def case_unit():
    with open(os.path.join(SRC, "etc", "flowq.service.in")) as f:
        text = f.read()
    for want in ("Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP "
                 "$MAINPID", "DynamicUser=yes",
                 "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                 "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "PrivateTmp=yes", "--config @SYSCONFDIR@/flowq/flowq.conf"):
        if want not in text:
            fail("the unit lacks %r" % want)
    analyze = "/usr/bin/systemd-analyze"
    if not os.path.exists(analyze):
        skip("systemd-analyze is not installed (package systemd)")
    os.makedirs(TMP, exist_ok=True)
    unit = os.path.join(TMP, "flowq.service")
    with open(unit, "w") as f:
        f.write(text.replace("@BINDIR@/flowq", os.path.abspath(FLOWQ))
                .replace("@SYSCONFDIR@", TMP))
    r = subprocess.run([analyze, "verify", "--man=no", unit],
                       capture_output=True, timeout=60)
    if r.returncode != 0 or r.stderr.strip():
        fail("systemd-analyze verify: %d\n%s" % (r.returncode,
                                                 r.stderr.decode()))


CASES = {"notify": case_notify, "user": case_user,
         "user-errors": case_user_errors, "unit": case_unit}
CASES[CASE]()
print("ok")
