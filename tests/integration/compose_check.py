#!/usr/bin/python3
# Structural check of docker-compose.yml against the Dockerfile and the
# services' own configuration tables, for a machine without a Docker daemon
# (docker compose was never run here). Usage: compose_check.py SRC BUILD.
# Fails (exit 1, one line per problem) unless:
# - every CHARTER_* variable a Charter service sets is a key of that
#   service's table (its --help), kafka.* pass-through aside;
# - every service that has a policy directory key sets it, and every path a
#   *_DIR or *_FILE variable names lies under a volume mounted into that
#   container; all of them mount the policies from the same host source;
#   notification sets and mounts its templates;
# - what a service writes (outbox, print queue) is a writable named volume,
#   the containers' root file system being read-only;
# - notification sends email and staff alerts by a real transport, and the
#   variables that must be the operator's (SMTP relay, sender) are required;
# - the gateways recipe gives the file to the uid the Dockerfile fixes, and
#   docs/production.md gives the same recipe.
import os
import re
import subprocess
import sys

import yaml

src, build = sys.argv[1], sys.argv[2]
problems = []
compose_text = open(os.path.join(src, "docker-compose.yml")).read()
compose = yaml.safe_load(compose_text)
services = compose["services"]
binaries = {"ingest": "ingest", "sla-timer": "sla-timer", "notification": "notification",
            "reporting": "reporting"}
policy_var = {"ingest": "CHARTER_INGEST_POLICY_DIR", "sla-timer": "CHARTER_SLA_POLICY_DIR",
              "notification": "CHARTER_NOTIFY_POLICY_DIR", "reporting": "CHARTER_REPORT_POLICY_DIR"}


def env_of(svc):
    env = dict(svc.get("environment") or {})
    return {k: str(v) for k, v in env.items()}


def mounts_of(svc):
    out = []
    for v in svc.get("volumes") or []:
        parts = re.sub(r"\$\{[^}]*\}", lambda m: m.group(0).replace(":", "\0"), v).split(":")
        parts = [p.replace("\0", ":") for p in parts]
        out.append((parts[0], parts[1], "ro" in parts[2:]))
    return out


policy_sources = set()
for name, binary in binaries.items():
    svc = services.get(name)
    if not svc:
        problems.append(f"{name}: no such service")
        continue
    help_text = subprocess.run([f"{build}/services/{binary}/charter-{binary}", "--help"],
                               capture_output=True, text=True).stdout
    known = set(re.findall(r"env (CHARTER_[A-Z0-9_]+)", help_text))
    env = env_of(svc)
    mounts = mounts_of(svc)
    for k, v in env.items():
        if k.startswith("CHARTER_KAFKA_"):
            continue
        if k not in known:
            problems.append(f"{name}: {k} is not a key of charter-{binary} (see its --help)")
        if (k.endswith("_DIR") or k.endswith("_FILE")) and v.startswith("/"):
            under = [m for m in mounts if v == m[1] or v.startswith(m[1].rstrip("/") + "/")]
            if not under:
                problems.append(f"{name}: {k}={v} is not under any volume mounted into it")
            elif k.endswith(("OUTBOX_DIR", "PRINT_DIR")) and (under[0][2] or under[0][0].startswith((".", "/", "$"))):
                problems.append(f"{name}: {k}={v} must be a writable named volume")
    pv = policy_var[name]
    if pv not in env:
        problems.append(f"{name}: {pv} is not set: it would serve no (or the image's) policies")
    else:
        src_of = [m[0] for m in mounts if m[1] == env[pv]]
        if not src_of:
            problems.append(f"{name}: the policy directory {env[pv]} is not mounted")
        policy_sources.update(src_of)
    if svc.get("read_only") is not True:
        problems.append(f"{name}: the root file system should be read_only")
if len(policy_sources) != 1:
    problems.append(f"the services mount their policies from different places: {sorted(policy_sources)}")

n = env_of(services.get("notification", {}))
if "CHARTER_NOTIFY_TEMPLATE_DIR" not in n:
    problems.append("notification: CHARTER_NOTIFY_TEMPLATE_DIR is not set (built-in plain messages)")
for k in ("CHARTER_NOTIFY_EMAIL_TRANSPORT", "CHARTER_NOTIFY_STAFF_TRANSPORT"):
    if n.get(k, "file") == "file":
        problems.append(f"notification: {k} is the file sink; nothing would reach anyone")
for k in ("CHARTER_NOTIFY_SMTP_URL", "CHARTER_NOTIFY_SMTP_FROM", "CHARTER_NOTIFY_STAFF_EMAIL"):
    if not re.fullmatch(r"\$\{" + k + r":\?[^{}]+\}", n.get(k, "")):
        problems.append(f"notification: {k} should be required from the operator (${{{k}:?...}})")

dockerfile = open(os.path.join(src, "Dockerfile")).read()
m = re.search(r"useradd[^\n]*(?:\\\n[^\n]*)*?--uid (\d+)", dockerfile)
if not m:
    problems.append("Dockerfile: the charter user's uid is not fixed (--uid N)")
else:
    uid = m.group(1)
    recipe = f"chown {uid}:{uid} gateways"
    for path in ("docker-compose.yml", "docs/production.md"):
        if recipe not in open(os.path.join(src, path)).read():
            problems.append(f"{path}: the gateways recipe does not give the file to uid {uid} ({recipe!r})")
ing = [m for m in mounts_of(services["ingest"]) if m[1] == "/etc/charter/gateways"]
if not ing or not ing[0][2]:
    problems.append("ingest: the gateways file is not mounted read-only at /etc/charter/gateways")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
