#!/usr/bin/env python3
"""Prints the log indicator patterns of the shipped rules, one regular expression per line,
for `rg -z -f` (the benchmark's reference): every pattern of every `lines` rule (literals
escaped, case-insensitive ones wrapped in `(?i:...)`) and the regexes of `correlate` rules (their capture names removed).

usage: patterns.py [RULES_DIR]  (default: rules/)
"""
import glob
import os
import re
import sys
import tomllib


def regex_of(p):
    if isinstance(p, str):
        return re.escape(p)
    if "regex" in p:
        src = p["regex"]
    else:
        src = re.escape(p["literal"])
    return f"(?i:{src})" if p.get("ignore_case") else src


def patterns(rule):
    lines = rule.get("lines")
    if lines:
        for group in ("any", "all"):
            yield from (regex_of(p) for p in lines.get(group, []))
    corr = rule.get("correlate")
    if corr:
        for part in ("first", "then"):
            if part in corr and "regex" in corr[part]:
                yield corr[part]["regex"]


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "rules"
    seen = []
    for path in sorted(glob.glob(os.path.join(folder, "*.toml"))):
        with open(path, "rb") as f:
            pack = tomllib.load(f)
        for rule in pack.get("rule", []):
            for p in patterns(rule):
                # Named groups are for sporen's correlation; rg -f joins the patterns into one
                # regex, in which a name may appear once.
                p = re.sub(r"\(\?P<\w+>", "(?:", p)
                if p not in seen:
                    seen.append(p)
    print("\n".join(seen))


if __name__ == "__main__":
    main()
