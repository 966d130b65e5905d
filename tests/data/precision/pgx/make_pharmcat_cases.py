"""Extract PharmCAT's NamedAlleleMatcher unit-test cases into ``pharmcat_matcher_cases.json``.

Source: PharmGKB/PharmCAT @ 5431bf1187e5 (v3.1.1, the version of ../shared/data/pgx),
``src/test/java/org/pharmgkb/pharmcat/haplotype/NamedAlleleMatcher*Test.java``. Every ``@Test`` method
whose body builds one synthetic VCF with ``TestVcfBuilder`` (only ``variation``/``missing``/``phased``/
``reference``) and checks it with ``assertDiplotypePairs(expected, testMatchNamedAlleles(...))`` becomes a
case: the gene, PharmCAT's expected diplotype list (exact order), whether only top candidates were asked
for, and the VCF genotypes of the edited positions (CPIC alleles mapped to VCF alleles exactly as
TestVcfBuilder.handleCustomEdit does). Positions not edited are ``0/0`` (``0|0`` when phased); ``missing``
positions are left out of the VCF.

Usage: python make_pharmcat_cases.py PHARMCAT_GIT_DIR ../../../../../shared/data/pgx/allele_definitions
(PHARMCAT_GIT_DIR: a clone or bare mirror of PharmGKB/PharmCAT; read with ``git show``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

COMMIT = "5431bf1187e5"
TESTS = [
    "NamedAlleleMatcherCyp2c19Test", "NamedAlleleMatcherCyp2c9Test", "NamedAlleleMatcherCyp3a5Test",
    "NamedAlleleMatcherCyp4f2Test", "NamedAlleleMatcherSlco1b1Test", "NamedAlleleMatcherTpmtTest",
    "NamedAlleleMatcherUgt1a1Test", "NamedAlleleMatcherVkorc1Test", "NamedAlleleMatcherIfnl3Test",
    "NamedAlleleMatcherCftrTest", "NamedAlleleMatcherRyr1Test", "NamedAlleleMatcherNat2Test",
]  # fmt: skip
STR_LIST = r'(?:Lists\.newArrayList|List\.of)\(((?:\s*"[^"]*"\s*,?)*)\)'


def strings(s: str) -> list[str]:
    return re.findall(r'"([^"]*)"', s)


def methods(src: str):
    for m in re.finditer(r"@Test\s+void\s+(\w+)\s*\([^)]*\)[^{]*\{", src):
        start, depth, i = m.end(), 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(src[i], 0)
            i += 1
        yield m.group(1), src[start : i - 1]


def parse(name: str, body: str):
    body_nc = re.sub(r"//[^\n]*", "", body)
    body_nc = re.sub(r"/\*.*?\*/", "", body_nc, flags=re.S)
    if body_nc.count("assertDiplotypePairs") != 1:
        return None
    resource = re.findall(r'getPathToResource\("org/pharmgkb/pharmcat/haplotype/(\w+/[^"]+\.vcf)"\)', body_nc)
    n_builders = body_nc.count("new TestVcfBuilder")
    if n_builders + len(resource) != 1:
        return None
    chain = re.search(r"new TestVcfBuilder\((.*?)\.generate\(\)", body_nc, re.S)
    calls = re.findall(r"\.(\w+)\(([^()]*)\)", chain.group(1)) if chain else []
    allowed = {"variation", "missing", "phased", "reference"}
    if any(c not in allowed for c, _ in calls):
        return None
    edits, missing, phased, gene = {}, [], False, None
    for c, args in calls:
        a = strings(args)
        if c == "phased":
            phased = True
            continue
        if c == "reference" and len(a) == 1:
            gene = a[0]
            continue
        if c == "reference":
            return None
        gene = a[0]
        if c == "missing":
            missing.extend(a[1:])
        else:  # variation(gene, rsid, [isPhased,] alleles...)
            if re.search(r",\s*(true|false)\s*,", args):
                return None
            edits[a[1]] = a[2:]
    if body_nc.count("testMatchNamedAlleles(") != 1:
        return None
    call = re.search(r"testMatchNamedAlleles\(\s*s_env\s*,\s*sf_definitionFile\s*,", body_nc)
    if not call:
        return None
    if re.search(r"generate\(\)\s*[,)]", body_nc[call.end() :]):
        tail = body_nc[call.end() :].split("generate()", 1)[1]
    else:  # Path vcfFile = new TestVcfBuilder(...).generate(); ... testMatchNamedAlleles(s_env, def, vcfFile, …)
        tail = re.sub(r"^\s*\w+", "", body_nc[call.end() :])
    flags = re.match(r"\s*((,\s*(true|false))*)\s*\)", tail)
    if not flags:
        return None
    flags_list = re.findall(r"true|false", flags.group(1))
    # testMatchNamedAlleles(env, def, vcf[, top] | [, findCombinations, top] | [, top, showUnmatched, withExemptions]
    #                       | [, findCombinations, top, showUnmatched, withExemptions]); no flag → top = false
    f = [x == "true" for x in flags_list]
    if len(f) == 0:
        top_only = False
    elif len(f) == 1:
        top_only = f[0]
    elif len(f) == 2 and not f[0]:
        top_only = f[1]
    elif len(f) == 3 and f[2]:
        top_only = f[0]
    elif len(f) == 4 and not f[0] and f[3]:
        top_only = f[1]
    else:
        return None
    exp = re.search(r"assertDiplotypePairs\(\s*(\"[^\"]*\"|" + STR_LIST + r"|(\w+))", body_nc)
    if not exp:
        return None
    if exp.group(1).startswith('"'):
        expected = strings(exp.group(1))
    elif exp.group(2) is not None:
        expected = strings(exp.group(2))
    else:
        var = re.search(r"List<String>\s+" + exp.group(3) + r"\s*=\s*" + STR_LIST, body_nc)
        if not var:
            return None
        expected = strings(var.group(1))
    if resource:
        return {"test": name, "gene": None, "vcf": resource[0], "expected": expected, "top_only": top_only}
    return {"test": name, "gene": gene, "expected": expected, "top_only": top_only, "phased": phased,
            "edits": edits, "missing": missing}  # fmt: skip


def main(repo: str, defs_dir: str) -> None:
    cases = []
    for t in TESTS:
        path = f"src/test/java/org/pharmgkb/pharmcat/haplotype/{t}.java"
        src = subprocess.run(["git", "-C", repo, "show", f"{COMMIT}:{path}"], capture_output=True, text=True).stdout
        for name, body in methods(src):
            case = parse(name, body)
            if case is None:
                continue
            if "vcf" in case:
                gene = re.search(r'resolve\("(\w+)_translation\.json"\)', src)
                if gene:
                    cases.append({"class": t, **case, "gene": gene.group(1)})
                continue
            if case["gene"] is None:
                continue
            d = json.loads((Path(defs_dir) / f"{case['gene']}_translation.json").read_text())
            by_id = {}
            for v in d["variants"]:
                if v["rsid"]:
                    by_id[v["rsid"]] = v
                by_id[f"{v['chromosome']}:{v['position']}"] = v
            lines, ok = {}, True
            for rsid, cpic in case["edits"].items():
                v = by_id.get(rsid)
                if v is None or len(cpic) not in (1, 2):
                    ok = False
                    break
                alts = list(v["alts"])
                gts = []
                for a in cpic:
                    vcf = v["cpicToVcfAlleleMap"].get(a)
                    if vcf is None:
                        if a != ".":
                            ok = False
                            break
                        gts.append(".")
                    elif vcf == v["ref"]:
                        gts.append("0")
                    else:
                        gts.append(str(alts.index(vcf) + 1))
                sep = "|" if case["phased"] else "/"
                lines[str(v["position"])] = [v["ref"], ",".join(alts), sep.join(gts)]
            if not ok:
                continue
            miss = [by_id[r]["position"] for r in case["missing"] if r in by_id]
            if len(miss) != len(case["missing"]):
                continue
            cases.append({"class": t, **{k: case[k] for k in ("test", "gene", "expected", "top_only", "phased")},
                          "records": lines, "missing": miss})  # fmt: skip
    out = Path(__file__).with_name("pharmcat_matcher_cases.json")
    out.write_text(json.dumps({"source": f"PharmGKB/PharmCAT@{COMMIT}", "cases": cases}, indent=1) + "\n")
    print(f"{len(cases)} cases → {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
