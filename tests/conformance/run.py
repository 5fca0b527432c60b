#!/usr/bin/env python3
"""run.py - runs the conformance server against examples/autobahn_client, directly and
through the test HTTP CONNECT proxy, then prints the results per section and writes the
JSON report.

    run.py [--build DIR] [--modes direct,proxy] [--cases PATTERNS] [--exclude PATTERNS]
           [--timeout SECONDS]

Needs DIR/autobahn_client and DIR/http_proxy (make conformance builds them). Writes
DIR/conformance/report.json and the logs beside it. Prints a table per section, every
case that is not OK, and a last line "N passed, N failed" (NON-STRICT and INFORMATIONAL
count as passed). Exits non-zero when any case FAILED, is missing, or a process failed.

Every process it starts listens on or connects to 127.0.0.1 only, has a time limit, and
is stopped by its PID.
"""

import argparse
import collections
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = ("OK", "NON-STRICT", "INFORMATIONAL", "FAILED")
SHORT = {"OK": "OK", "NON-STRICT": "NS", "INFORMATIONAL": "INFO", "FAILED": "FAIL"}
SECTION_ORDER = ["1", "2", "3", "4", "5", "6", "7", "9", "10"]
MODES = {"direct": "wsproxy-direct", "proxy": "wsproxy-proxy"}
# memory: peak RSS may exceed the message buffer by this much, and may grow by at most
# GROWTH_KIB over the 12000 messages of 9.7.x and 9.8.x
OVERHEAD_KIB = 8 * 1024
GROWTH_KIB = 256
MAX_MESSAGE = 16 * 1024 * 1024


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


def stop(proc, name):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--modes", default="direct,proxy")
    ap.add_argument("--cases")
    ap.add_argument("--exclude")
    ap.add_argument("--timeout", type=float, default=300,
                    help="longest a client run may take, in seconds")
    args = ap.parse_args()

    build = args.build
    out = os.path.join(build, "conformance")
    os.makedirs(out, exist_ok=True)
    report_path = os.path.join(out, "report.json")
    for name in ("report.json", "server.port", "proxy.port"):
        try:
            os.remove(os.path.join(out, name))
        except OSError:
            pass
    client_bin = os.path.join(build, "autobahn_client")
    proxy_bin = os.path.join(build, "http_proxy")
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            sys.exit("run.py: unknown mode %s" % m)

    t0 = time.monotonic()
    problems = []
    server = proxy = None
    clients = collections.OrderedDict()
    try:
        cmd = [sys.executable, os.path.join(HERE, "fuzzingserver.py"), "--port", "0",
               "--port-file", os.path.join(out, "server.port"), "--report", report_path,
               "--max-seconds", str(int(args.timeout * len(modes) + 120))]
        if args.cases:
            cmd += ["--cases", args.cases]
        if args.exclude:
            cmd += ["--exclude", args.exclude]
        server_log = open(os.path.join(out, "server.log"), "w")
        server = subprocess.Popen(cmd, stdout=server_log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        port = wait_port_file(os.path.join(out, "server.port"), server)
        if port is None:
            sys.exit("run.py: the conformance server did not start (see %s)" % server_log.name)

        for mode in modes:
            agent = MODES[mode]
            ccmd = [client_bin, "--host", "127.0.0.1", "--port", str(port), "--agent", agent,
                    "--case-timeout", "120", "--stats"]
            if mode == "proxy":
                if proxy is None:
                    proxy_log = open(os.path.join(out, "proxy.log"), "w")
                    proxy = subprocess.Popen(
                        [proxy_bin, "--port", "0", "--port-file", os.path.join(out, "proxy.port"),
                         "--max-seconds", str(int(args.timeout + 60))],
                        stdout=proxy_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                    pport = wait_port_file(os.path.join(out, "proxy.port"), proxy)
                    if pport is None:
                        problems.append("the HTTP proxy did not start")
                        continue
                ccmd += ["--proxy", "http://127.0.0.1:%d" % pport]
            log_path = os.path.join(out, "client-%s.log" % mode)
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
            secs = time.monotonic() - t
            if rc != 0:
                problems.append("client (%s) exited with %s, see %s" % (mode, rc, log_path))
            with open(log_path) as f:
                lines = f.read().splitlines()
            clients[mode] = {"agent": agent, "exit": rc, "seconds": round(secs, 1),
                             "log": log_path, "lines": lines}
    finally:
        stop(server, "conformance server")
        stop(proxy, "http proxy")

    try:
        with open(report_path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print("run.py: no report (%s)" % e)
        print("0 passed, 1 failed")
        return 1

    ncases = report["case_count"]
    sections = report["sections"]
    per_mode = collections.OrderedDict()
    listed = []        # (result, case id, mode, text)
    passed = failed = 0
    for mode, info in clients.items():
        agent_doc = report["agents"].get(info["agent"], {"cases": []})
        case_lines = {}
        rss = {}
        for line in info["lines"]:
            m = re.match(r"case (\d+): (.*?)(?:; peak rss (\d+) KiB)?$", line)
            if m:
                case_lines[int(m.group(1))] = m.group(2)
                if m.group(3):
                    rss[int(m.group(1))] = int(m.group(3))
        for e in agent_doc["cases"]:
            e.setdefault("client", {})["log"] = case_lines.get(e["index"])
        counts = collections.OrderedDict()
        for s in SECTION_ORDER:
            counts[s] = collections.Counter()
        seen = 0
        for e in agent_doc["cases"]:
            counts.setdefault(e["id"].split(".")[0], collections.Counter())[e["result"]] += 1
            seen += 1
            if e["result"] == "FAILED":
                failed += 1
                why = e["result_text"]
                if e["behavior_close"] != "OK" or e["behavior"] == "OK":
                    why += " / " + e["result_close_text"]
                if e["client"].get("violations"):
                    why += " / " + "; ".join(e["client"]["violations"])
                listed.append(("FAILED", e["id"], mode, why + " [client: %s]" % e["client"].get("log")))
            else:
                passed += 1
                if e["result"] != "OK":
                    listed.append((e["result"], e["id"], mode, e["result_text"]))
        if seen < ncases:
            missing = ncases - seen
            failed += missing
            problems.append("%s: %d of %d cases have no result" % (mode, missing, ncases))
        # memory: bounded by the message buffer, and flat over thousands of messages
        mem = {"peak_rss_kib": max(rss.values()) if rss else None}
        if rss:
            if mem["peak_rss_kib"] > MAX_MESSAGE // 1024 + OVERHEAD_KIB:
                problems.append("%s: peak RSS %d KiB is over the bound %d KiB"
                                % (mode, mem["peak_rss_kib"], MAX_MESSAGE // 1024 + OVERHEAD_KIB))
            idx = {e["id"]: e["index"] for e in agent_doc["cases"]}
            a, b = idx.get("9.7.1"), idx.get("9.8.6")
            if a in rss and b in rss:
                a_prev = rss.get(a - 1, rss[a])
                mem["rss_before_9_7_kib"] = a_prev
                mem["rss_after_9_8_kib"] = rss[b]
                if rss[b] - a_prev > GROWTH_KIB:
                    problems.append("%s: memory grew by %d KiB over the 12000 messages of "
                                    "9.7/9.8" % (mode, rss[b] - a_prev))
        info["memory"] = mem
        per_mode[mode] = counts
        agent_doc["client_run"] = {"mode": mode, "exit": info["exit"], "seconds": info["seconds"],
                                   "log": info["log"], "memory": mem}

    report["run"] = {"modes": list(clients.keys()), "seconds": round(time.monotonic() - t0, 1),
                     "problems": problems, "passed": passed, "failed": failed}
    with open(report_path + ".tmp", "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    os.replace(report_path + ".tmp", report_path)

    # ---- the table
    modes_run = list(per_mode.keys())
    head = "%-30s" % "Section"
    sub = "%-30s" % ""
    for m in modes_run:
        head += " | %-22s" % ("direct" if m == "direct" else "via HTTP proxy")
        sub += " | " + " ".join("%4s" % SHORT[r] for r in RESULTS) + "  "
    print(head)
    print(sub)
    print("-" * len(sub))
    totals = {m: collections.Counter() for m in modes_run}
    for s in SECTION_ORDER:
        if not any(sum(per_mode[m][s].values()) for m in modes_run):
            continue
        row = "%-30s" % ("%s %s" % (s, sections.get(s, "")))
        for m in modes_run:
            c = per_mode[m][s]
            totals[m].update(c)
            row += " | " + " ".join("%4d" % c[r] for r in RESULTS) + "  "
        print(row)
    print("-" * len(sub))
    row = "%-30s" % "Total"
    for m in modes_run:
        row += " | " + " ".join("%4d" % totals[m][r] for r in RESULTS) + "  "
    print(row)
    for mode, info in clients.items():
        mem = info.get("memory", {})
        print("client %s: %s s, exit %s, peak RSS %s KiB%s" % (
            mode, info["seconds"], info["exit"], mem.get("peak_rss_kib"),
            (", RSS over 9.7/9.8: %s -> %s KiB" % (mem["rss_before_9_7_kib"], mem["rss_after_9_8_kib"])
             if "rss_after_9_8_kib" in mem else "")))
    if report.get("reductions"):
        print("section 9 reductions: " + "; ".join(report["reductions"]))
    if listed:
        print()
        for res, cid, mode, text in sorted(listed, key=lambda x: (case_key(x[1]), x[2])):
            print("%-13s %-8s %-6s %s" % (res, cid, mode, text))
    for p in problems:
        print("problem: " + p)
    print("report: %s (%.0f s)" % (report_path, time.monotonic() - t0))
    if problems and failed == 0:
        failed = len(problems)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
