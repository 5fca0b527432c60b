#!/usr/bin/env python3
"""run.py - runs the conformance server against its clients in several passes, then prints
the results per section and pass and writes the JSON report.

    run.py [--build DIR] [--modes LIST] [--cases PATTERNS] [--exclude PATTERNS]
           [--timeout SECONDS] [--jobs N] [--deflate-budget BYTES] [--ref-python PATH]

Passes (--modes, default all):
  direct      examples/autobahn_client, ws:// straight to the server
  proxy       the same through tests/peers/http_proxy (plain HTTP CONNECT)
  wss         wss:// (the server's TLS listener, tests/certs/target-chain.pem)
  wss-proxy   wss:// through http_proxy in HTTPS mode: TLS to the proxy, TLS inside it
  ref         Python websockets (ref_client.py) offering permessage-deflate: sections
              12, 13 and 16.1-16.4, to prove the server's deflate side with a third party
  ref-nooffer websockets offering nothing: 16.3, 16.4 and 16.5.1
  ref-offer2  websockets offering "permessage-deflate; server_no_context_takeover;
              server_max_window_bits=10" (no client_max_window_bits): 13.1, 13.2, 16.5.2,
              16.5.3
Each pass has a server of its own, which must exit by itself once the client's last
request (/updateReports?...&shutdownOnComplete=true) is done. Which cases a wsproxy pass
runs depends on `autobahn_client --features`: without "permessage-deflate" the client
makes no offer, so sections 12, 13, 16.1, 16.2 (they need one) are left out and said so;
with it, the direct pass offers (--deflate) and passes like ref-nooffer and ref-offer2
run for it too.

Sections 12 and 13 send min(1000, max(10, BYTES // message length)) messages per case
with --deflate-budget BYTES (default 32768; 0: the suite's 1000 everywhere).

Needs DIR/autobahn_client and DIR/http_proxy (make conformance builds them), and for the
ref passes /usr/bin/python3 with python3-websockets. Writes DIR/conformance/report.json
and the logs beside it. Prints a table per section, every case that is not OK, and a last
line "N passed, N failed" (NON-STRICT and INFORMATIONAL count as passed, UNIMPLEMENTED
and missing cases as failed). Exits non-zero when any case FAILED, is missing, or a
process failed. Every process it starts listens on or connects to 127.0.0.1 only, has a
time limit, and is stopped by its PID.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CERTS = os.path.join(os.path.dirname(HERE), "certs")
RESULTS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
SHORT = {"NON-STRICT": "ns", "INFORMATIONAL": "i", "UNIMPLEMENTED": "u", "FAILED": "F"}
PASSED = ("OK", "NON-STRICT", "INFORMATIONAL")
SECTION_ORDER = ["1", "2", "3", "4", "5", "6", "7", "9", "10", "12", "13", "16"]
SECTION_SHORT = {"12": "Compression (payloads)", "13": "Compression (parameters)",
                 "16": "permessage-deflate (project)"}
ALL_MODES = ["direct", "proxy", "wss", "wss-proxy", "ref", "ref-nooffer", "ref-offer2"]
# memory: peak RSS may exceed the message buffer by this much, and may grow by at most
# GROWTH_KIB over the 12000 messages of 9.7.x and 9.8.x
OVERHEAD_KIB = 8 * 1024
GROWTH_KIB = 256
MAX_MESSAGE = 16 * 1024 * 1024

BASIC = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*"]
NO_OFFER = ["16.3.*", "16.4.*", "16.5.1"]            # for a client that offers nothing
WITH_OFFER = ["12.*", "13.*", "16.1.*", "16.2.*", "16.3.*", "16.4.*"]
OFFER2_CASES = ["13.1.*", "13.2.*", "16.5.2", "16.5.3"]
OFFER2_FLAGS = ["--deflate", "--client-max-window-bits", "none", "--server-max-window-bits",
                "10", "--server-no-context-takeover"]


def wait_port_file(path, proc, seconds=15):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            return None
        try:
            with open(path) as f:
                text = f.read().strip()
            if text:
                return int(text)
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return None


def stop(proc, name, problems=None):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sys.stderr.write("run.py: %s (pid %d) did not stop, killing it\n" % (name, proc.pid))
        proc.kill()
        proc.wait()


def case_key(cid):
    return tuple(int(x) for x in cid.split("."))


def match_any(cid, patterns):
    for pat in patterns:
        if re.match("^" + re.escape(pat).replace("\\*", ".*") + "$", cid):
            return True
    return False


def find_ref_python(explicit):
    for exe in ([explicit] if explicit else [sys.executable, "/usr/bin/python3"]):
        try:
            r = subprocess.run([exe, "-c", "import websockets; print(websockets.__version__)"],
                               capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return exe, r.stdout.strip()
    return None, None


def plan(args, features, all_ids, ref_python):
    """-> list of passes: name, agent, client command (without --port), server extras,
    proxy kind, the case ids it runs, and what it leaves out and why."""
    build = args.build
    client = [os.path.join(build, "autobahn_client"), "--host", "127.0.0.1",
              "--case-timeout", "120", "--stats"]
    ref = [ref_python or "python3", os.path.join(HERE, "ref_client.py"), "--timeout", "1",
           "--case-timeout", "120"]
    tls_server = ["--tls-cert", os.path.join(CERTS, "target-chain.pem"),
                  "--tls-key", os.path.join(CERTS, "target.key")]
    tls_client = ["--tls", "--cacert", os.path.join(CERTS, "ca.pem")]
    deflate = "permessage-deflate" in features
    main_cases = BASIC + (WITH_OFFER if deflate else NO_OFFER)
    main_flags = ["--deflate"] if deflate else []
    note = None if deflate else (
        "sections 12, 13, 16.1, 16.2 not run: autobahn_client makes no permessage-deflate "
        "offer (its --features lack it; wsproxy.h has no deflate yet)")
    P = collections.OrderedDict()
    P["direct"] = dict(agent="wsproxy-direct", cmd=client + main_flags, server=[], proxy=None,
                       cases=main_cases, note=note, wsproxy=True)
    P["proxy"] = dict(agent="wsproxy-proxy", cmd=client + main_flags, server=[], proxy="http",
                      cases=main_cases, note=note, wsproxy=True)
    P["wss"] = dict(agent="wsproxy-wss", cmd=client + main_flags + tls_client, server=tls_server,
                    proxy=None, cases=main_cases, note=note, wsproxy=True)
    P["wss-proxy"] = dict(agent="wsproxy-wss-proxy", cmd=client + main_flags + tls_client,
                          server=tls_server, proxy="https", cases=main_cases, note=note,
                          wsproxy=True)
    if deflate:
        P["direct-nooffer"] = dict(agent="wsproxy-nooffer", cmd=client, server=[], proxy=None,
                                   cases=NO_OFFER, note=None, wsproxy=True)
        P["direct-offer2"] = dict(agent="wsproxy-offer2", cmd=client + OFFER2_FLAGS, server=[],
                                  proxy=None, cases=OFFER2_CASES, note=None, wsproxy=True)
    P["ref"] = dict(agent="websockets-deflate", cmd=ref + ["--deflate"], server=[], proxy=None,
                    cases=WITH_OFFER, note=None, wsproxy=False)
    P["ref-nooffer"] = dict(agent="websockets-nooffer", cmd=ref, server=[], proxy=None,
                            cases=NO_OFFER, note=None, wsproxy=False)
    P["ref-offer2"] = dict(agent="websockets-offer2", cmd=ref + OFFER2_FLAGS, server=[],
                           proxy=None, cases=OFFER2_CASES, note=None, wsproxy=False)
    wanted = [m for m in args.modes.split(",") if m]
    passes = []
    for name in wanted:
        if name not in P:
            sys.exit("run.py: unknown mode %s (modes: %s)" % (name, ", ".join(P)))
    for name, p in P.items():
        if name not in wanted and not (name.startswith("direct-") and "direct" in wanted):
            continue
        ids = [i for i in all_ids if match_any(i, p["cases"])]
        if args.cases:
            ids = [i for i in ids if match_any(i, args.cases.split(","))]
        if args.exclude:
            ids = [i for i in ids if not match_any(i, args.exclude.split(","))]
        if not ids:
            continue
        p["name"] = name
        p["ids"] = ids
        passes.append(p)
    return passes


def run_pass(p, args, out):
    """Starts the pass's server (and proxy), runs the client, checks that the server
    exited by itself after the client's updateReports. Returns a result dict."""
    name = p["name"]
    res = {"name": name, "agent": p["agent"], "problems": [], "exit": None, "seconds": None,
           "lines": [], "report": None}
    port_file = os.path.join(out, "%s.port" % name)
    report = os.path.join(out, "report-%s.json" % name)
    for f in (port_file, report):
        try:
            os.remove(f)
        except OSError:
            pass
    server = proxy = None
    server_log = open(os.path.join(out, "server-%s.log" % name), "w")
    try:
        cmd = [sys.executable, os.path.join(HERE, "fuzzingserver.py"), "--port", "0",
               "--port-file", port_file, "--report", report,
               "--max-seconds", str(int(args.timeout + 120)), "--cases", ",".join(p["ids"])]
        if args.deflate_budget:
            cmd += ["--deflate-budget", str(args.deflate_budget)]
        cmd += p["server"]
        server = subprocess.Popen(cmd, stdout=server_log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        port = wait_port_file(port_file, server)
        if port is None:
            res["problems"].append("%s: the conformance server did not start (see %s)"
                                   % (name, server_log.name))
            return res
        ccmd = p["cmd"] + ["--port", str(port), "--agent", p["agent"]]
        if p["proxy"]:
            pfile = os.path.join(out, "%s.proxy.port" % name)
            try:
                os.remove(pfile)
            except OSError:
                pass
            pcmd = [os.path.join(args.build, "http_proxy"), "--port", "0", "--port-file", pfile,
                    "--max-seconds", str(int(args.timeout + 60))]
            if p["proxy"] == "https":
                pcmd += ["--tls-cert", os.path.join(CERTS, "proxy-chain.pem"),
                         "--tls-key", os.path.join(CERTS, "proxy.key")]
            proxy_log = open(os.path.join(out, "proxy-%s.log" % name), "w")
            proxy = subprocess.Popen(pcmd, stdout=proxy_log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
            pport = wait_port_file(pfile, proxy)
            if pport is None:
                res["problems"].append("%s: the proxy did not start" % name)
                return res
            ccmd += ["--proxy", "%s://127.0.0.1:%d" % (p["proxy"], pport)]
            if p["proxy"] == "https":
                ccmd += ["--proxy-cacert", os.path.join(CERTS, "proxy-ca.pem")]
        log_path = os.path.join(out, "client-%s.log" % name)
        t = time.monotonic()
        with open(log_path, "w") as log:
            cp = subprocess.Popen(ccmd, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
            try:
                rc = cp.wait(timeout=args.timeout)
            except subprocess.TimeoutExpired:
                cp.kill()
                cp.wait()
                rc = "timeout"
        res["seconds"] = round(time.monotonic() - t, 1)
        res["exit"] = rc
        res["log"] = log_path
        if rc != 0:
            res["problems"].append("%s: client exited with %s, see %s" % (name, rc, log_path))
        # shutdownOnComplete: the server exits by itself once the report is written
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            if rc == 0:
                res["problems"].append("%s: the server did not exit after the client's "
                                       "updateReports with shutdownOnComplete=true" % name)
        with open(log_path) as f:
            res["lines"] = f.read().splitlines()
    finally:
        stop(server, "conformance server (%s)" % name)
        stop(proxy, "proxy (%s)" % name)
        server_log.close()
    try:
        with open(report) as f:
            res["report"] = json.load(f)
    except (OSError, ValueError) as e:
        res["problems"].append("%s: no report (%s)" % (name, e))
    return res


def cell(counter):
    """'298' or '296 ns1 i3 F1' for one section in one pass."""
    if not sum(counter.values()):
        return "-"
    s = "%d" % counter["OK"]
    for r in RESULTS[1:]:
        if counter[r]:
            s += " %s%d" % (SHORT[r], counter[r])
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--modes", default=",".join(ALL_MODES))
    ap.add_argument("--cases")
    ap.add_argument("--exclude")
    ap.add_argument("--timeout", type=float, default=300,
                    help="longest a client run may take, in seconds")
    ap.add_argument("--jobs", type=int, default=3, help="passes run at the same time")
    ap.add_argument("--deflate-budget", type=int, default=32768,
                    help="sections 12, 13: payload bytes per case (0: the suite's 1000 messages)")
    ap.add_argument("--ref-python", help="python with websockets for the ref passes")
    args = ap.parse_args()

    build = args.build
    out = os.path.join(build, "conformance")
    os.makedirs(out, exist_ok=True)
    report_path = os.path.join(out, "report.json")
    try:
        os.remove(report_path)
    except OSError:
        pass
    t0 = time.monotonic()
    problems = []
    r = subprocess.run([os.path.join(build, "autobahn_client"), "--features"],
                       capture_output=True, text=True, timeout=30)
    features = r.stdout.split() if r.returncode == 0 else []
    r = subprocess.run([sys.executable, os.path.join(HERE, "fuzzingserver.py"), "--list"],
                       capture_output=True, text=True, timeout=120)
    all_ids = [line.split()[1] for line in r.stdout.splitlines() if line.strip()]
    ref_python, ref_version = find_ref_python(args.ref_python)
    passes = plan(args, features, all_ids, ref_python)
    if any(not p["wsproxy"] for p in passes) and ref_python is None:
        problems.append("the ref passes need Python websockets (apt-get install "
                        "python3-websockets): not found")
        passes = [p for p in passes if p["wsproxy"]]
    order = sorted(passes, key=lambda p: -len(p["ids"]) * (3 if not p["wsproxy"] else 1))
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = {pool.submit(run_pass, p, args, out): p["name"] for p in order}
        for fut in concurrent.futures.as_completed(futs):
            res = fut.result()
            results[res["name"]] = res
            problems += res["problems"]

    # ---- merge, judge
    merged = collections.OrderedDict([
        ("suite", None), ("case_count", len(all_ids)), ("sections", None), ("subsections", None),
        ("reductions", []), ("autobahn_client_features", features),
        ("websockets", ref_version), ("passes", collections.OrderedDict()),
        ("agents", collections.OrderedDict())])
    per_pass = collections.OrderedDict()
    listed = []
    passed = failed = 0
    notes = []
    for p in passes:
        res = results.get(p["name"])
        rep = res and res["report"]
        if rep:
            for k in ("suite", "sections", "subsections"):
                merged[k] = merged[k] or rep.get(k)
            for x in rep.get("reductions", []):
                if x not in merged["reductions"]:
                    merged["reductions"].append(x)
        agent_doc = (rep or {}).get("agents", {}).get(p["agent"], {"cases": []})
        case_lines, rss, late = {}, {}, 0
        for line in (res["lines"] if res else []):
            m = re.match(r"case (\d+): (.*?)(?:; late events (\d+))?(?:; peak rss (\d+) KiB)?$", line)
            if m:
                case_lines[int(m.group(1))] = m.group(2)
                if m.group(3):
                    late += int(m.group(3))
                if m.group(4):
                    rss[int(m.group(1))] = int(m.group(4))
        counts = collections.defaultdict(collections.Counter)
        seen = set()
        for e in agent_doc["cases"]:
            e.setdefault("client", {})["log"] = case_lines.get(e["index"])
            counts[e["id"].split(".")[0]][e["result"]] += 1
            seen.add(e["id"])
            if e["result"] in PASSED:
                passed += 1
                if e["result"] != "OK":
                    listed.append((e["result"], e["id"], p["name"], e["result_text"]))
            else:
                failed += 1
                why = e["result_text"]
                if e["behavior_close"] != "OK" or e["behavior"] == "OK":
                    why += " / " + e["result_close_text"]
                if e["client"].get("violations"):
                    why += " / " + "; ".join(e["client"]["violations"])
                listed.append((e["result"], e["id"], p["name"],
                               why + " [client: %s]" % e["client"].get("log")))
        missing = [i for i in p["ids"] if i not in seen]
        if missing:
            failed += len(missing)
            problems.append("%s: %d of %d cases have no result (%s%s)" % (
                p["name"], len(missing), len(p["ids"]), ", ".join(missing[:5]),
                " ..." if len(missing) > 5 else ""))
        mem = {"peak_rss_kib": max(rss.values()) if rss else None}
        if p["wsproxy"] and rss:
            if mem["peak_rss_kib"] > MAX_MESSAGE // 1024 + OVERHEAD_KIB:
                problems.append("%s: peak RSS %d KiB is over the bound %d KiB" % (
                    p["name"], mem["peak_rss_kib"], MAX_MESSAGE // 1024 + OVERHEAD_KIB))
            idx = {e["id"]: e["index"] for e in agent_doc["cases"]}
            a, b = idx.get("9.7.1"), idx.get("9.8.6")
            if a in rss and b in rss:
                a_prev = rss.get(a - 1, rss[a])
                mem["rss_before_9_7_kib"] = a_prev
                mem["rss_after_9_8_kib"] = rss[b]
                if rss[b] - a_prev > GROWTH_KIB:
                    problems.append("%s: memory grew by %d KiB over the 12000 messages of "
                                    "9.7/9.8" % (p["name"], rss[b] - a_prev))
        if late:   # fixed in wsproxy_poll; a late event now is a regression
            failed += 1
            problems.append("%s: %d late events: wsproxy_poll returned 0, then an event on the "
                            "next call with no I/O between (see docs/conformance.md)"
                            % (p["name"], late))
        if p["note"]:
            notes.append("%s: %s" % (p["name"], p["note"]))
        per_pass[p["name"]] = counts
        info = collections.OrderedDict([
            ("agent", p["agent"]), ("client", " ".join(p["cmd"])),
            ("server_args", " ".join(p["server"])), ("proxy", p["proxy"]),
            ("cases", len(p["ids"])), ("exit", res and res["exit"]),
            ("seconds", res and res["seconds"]), ("memory", mem), ("late_events", late),
            ("note", p["note"])])
        merged["passes"][p["name"]] = info
        agent_doc["client_run"] = info
        merged["agents"][p["agent"]] = agent_doc
    run_secs = round(time.monotonic() - t0, 1)
    merged["run"] = {"modes": [p["name"] for p in passes], "jobs": args.jobs,
                     "seconds": run_secs, "problems": problems, "notes": notes,
                     "passed": passed, "failed": failed}
    with open(report_path + ".tmp", "w") as f:
        json.dump(merged, f, indent=1)
        f.write("\n")
    os.replace(report_path + ".tmp", report_path)

    # ---- the table: a column per pass; OK count, then ns/i/u/F counts when not zero
    names = [p["name"] for p in passes]
    width = max([14] + [len(n) + 1 for n in names])
    sections = merged["sections"] or {}
    print("%-34s" % "Section" + "".join("%-*s" % (width, n) for n in names))
    print("-" * (34 + width * len(names)))
    totals = {n: collections.Counter() for n in names}
    for s in SECTION_ORDER:
        if not any(sum(per_pass[n][s].values()) for n in names):
            continue
        row = "%-34s" % ("%s %s" % (s, SECTION_SHORT.get(s, sections.get(s, ""))))[:33]
        for n in names:
            totals[n].update(per_pass[n][s])
            row += "%-*s" % (width, cell(per_pass[n][s]))
        print(row)
    print("-" * (34 + width * len(names)))
    print("%-34s" % "Total" + "".join("%-*s" % (width, cell(totals[n])) for n in names))
    print("(ns NON-STRICT, i INFORMATIONAL, u UNIMPLEMENTED, F FAILED)")
    for p in passes:
        info = merged["passes"][p["name"]]
        mem = info["memory"]
        print("pass %s: %s s, exit %s%s%s" % (
            p["name"], info["seconds"], info["exit"],
            ", peak RSS %s KiB" % mem["peak_rss_kib"] if p["wsproxy"] else "",
            (", RSS over 9.7/9.8: %s -> %s KiB" % (mem["rss_before_9_7_kib"], mem["rss_after_9_8_kib"])
             if "rss_after_9_8_kib" in mem else "")))
    for x in merged["reductions"]:
        print("reduction: " + x)
    if listed:
        print()
        for res_, cid, mode, text in sorted(listed, key=lambda x: (case_key(x[1]), x[2])):
            print("%-13s %-8s %-11s %s" % (res_, cid, mode, text))
    for n in notes:
        print("note: " + n)
    for pr in problems:
        print("problem: " + pr)
    print("report: %s (%.0f s)" % (report_path, run_secs))
    if problems and failed == 0:
        failed = len(problems)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
