"""The shipped PGx phenotype and recommendation tables: build them from public sources, update them.

Two kinds of table live under ``biolake/precision/pgx/data/``:

``phenotypes/GENE.json``
    One compact file per gene: ``{"gene", "version", "source", "alleles": {name: [function, activity]},
    "diplotypes": [[allele1, allele2, phenotype, activity_score], ...], "activity_phenotypes":
    [[low, high, phenotype], ...]}``. Built from PharmCAT's phenotype files (``phenotype/GENE.json``,
    CPIC data, CC0, distributed by PharmCAT under MPL-2.0) by :func:`compact_pharmcat_phenotype`;
    CYP2D6, G6PD and RYR1 from the allele maps of PharmCAT's files read page by page
    (``tests/data/precision/pgx_pheno/make_pgx_tables_pharmcat2026.py``; :func:`pypgx_gene_phenotype`
    builds PyPGx's 2022 tables, the earlier source). ``allele2`` is ``None`` for a haploid call (G6PD in
    males, MT-RNR1).
``recommendations/cpic_recommendations.tsv``
    One row per drug and genotype lookup: ``drug genes lookup phenotypes population recommendation
    classification implications guideline guideline_version guideline_url cpic_level source``. The
    ``lookup`` column (``GENE=value;GENE=value``) is what a sample must have: a phenotype, an activity
    score (``CYP2D6=1.0``), an HLA allele status (``HLA-B=*57:01 positive``) or ``None`` (gene not
    called). Built by :func:`build_recommendation_table` from PyPGx's CPIC table (2022-08, MIT) with
    the rows PharmCAT's report JSON files state (CPIC data as PharmCAT ships it) replacing those of
    the same drug and phenotypes.

:func:`update_pgx_data` (``biolake precision pgx-data --from DIR``) replaces them from a directory
of newer files and returns the calls that change. The most complete machine-readable form of CPIC's
recommendations is PharmCAT's ``prescribing_guidance.json`` (ClinPGx guideline packages: recommendation
text, strength, population, implications, lookup keys by phenotype or activity score, citations);
:func:`merge_prescribing_guidance` turns its CPIC packages into rows (a drug's rows are replaced as a
whole). :func:`annotate_pypgx_rows` marks each remaining 2022 row with what CPIC's own change log
(cpicpgx/cpic-data ``data.tsv``) records for its drug since then.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from biolake.errors import InputError

__all__ = [
    "RECOMMENDATION_COLUMNS",
    "annotate_pypgx_rows",
    "build_recommendation_table",
    "compact_pharmcat_phenotype",
    "data_dir",
    "guidance_label",
    "merge_prescribing_guidance",
    "prescribing_guidance_rows",
    "pypgx_gene_phenotype",
    "update_pgx_data",
]

RECOMMENDATION_COLUMNS = (
    "drug",
    "genes",
    "lookup",
    "phenotypes",
    "population",
    "recommendation",
    "classification",
    "implications",
    "guideline",
    "guideline_version",
    "guideline_url",
    "cpic_level",
    "source",
)
RECOMMENDATIONS_FILE = "cpic_recommendations.tsv"

# CPIC 2019 CYP2D6 genotype-to-phenotype standardisation (activity score ranges, inclusive).
_CYP2D6_RANGES = [[0.0, 0.0, "Poor Metabolizer"], [0.25, 1.0, "Intermediate Metabolizer"],
                  [1.25, 2.25, "Normal Metabolizer"], [2.5, 99.0, "Ultrarapid Metabolizer"]]  # fmt: skip

_PYPGX_PHENOTYPE_NAMES = {
    ("CFTR", "Favorable Response"): "ivacaftor responsive in CF patients",
    ("CFTR", "Unfavorable Response"): "ivacaftor non-responsive in CF patients",
}


def data_dir() -> Path:
    """The package's PGx data folder (``biolake/precision/pgx/data``), or ``$BIOLAKE_PGX_DATA``."""
    env = os.environ.get("BIOLAKE_PGX_DATA")
    return Path(env) if env else Path(__file__).parent / "data"


# --------------------------------------------------------------------------- phenotypes


def _activity(value: Any) -> float | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() in {"n/a", "na", "none"}:
        return None
    try:
        return float(text.lstrip("≥"))
    except ValueError:
        return None


def compact_pharmcat_phenotype(doc: Mapping[str, Any], *, source: str = "PharmCAT") -> dict[str, Any]:
    """Turn one PharmCAT ``phenotype/GENE.json`` document into the compact shipped form."""
    try:
        gene = str(doc["gene"])
        alleles = {
            str(a["name"]): [a.get("functionValue"), _activity(a.get("activityValue"))] for a in doc["namedAlleles"]
        }
        diplotypes = []
        for d in doc["diplotypes"]:
            names: list[str] = []
            for name, count in d["diplotypekey"].items():
                names.extend([str(name)] * int(count))
            if len(names) not in (1, 2):
                continue
            a1, a2 = (names[0], names[1]) if len(names) == 2 else (names[0], None)
            diplotypes.append([a1, a2, d.get("phenotype") or d.get("generesult"), _activity(d.get("activityScore"))])
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InputError(f"not a PharmCAT phenotype file ({exc!r})") from None
    return {
        "gene": gene,
        "version": str(doc.get("version", "")),
        "source": source,
        "alleles": alleles,
        "diplotypes": diplotypes,
        "activity_phenotypes": [],
    }


def _g6pd_function(text: str) -> str:
    match = re.fullmatch(r"Class (\w+) \((.*)\)", text)
    return f"{match.group(1)}/{match.group(2)}" if match else text


def pypgx_gene_phenotype(pypgx_dir: str | os.PathLike[str], gene: str) -> dict[str, Any]:
    """The compact phenotype table of ``gene`` from PyPGx's ``allele-table.csv``/``diplotype-table.csv``.

    CYP2D6 gets allele activity values and CPIC's activity-score ranges (no enumerated diplotypes);
    G6PD and RYR1 get PyPGx's diplotype → phenotype rows (``X/MALE`` → haploid ``X``).
    """
    folder = Path(pypgx_dir)
    alleles_t = pd.read_csv(folder / "allele-table.csv", keep_default_na=False)
    alleles_t = alleles_t[alleles_t["Gene"] == gene]
    alleles: dict[str, list[Any]] = {}
    for row in alleles_t.itertuples():
        if row.StarAllele == "MALE":
            continue
        function = _g6pd_function(row.Function) if gene == "G6PD" else row.Function
        alleles[row.StarAllele] = [function.replace(" Function", " function"), _activity(row.ActivityScore)]
    diplotypes = []
    if gene != "CYP2D6":
        dips = pd.read_csv(folder / "diplotype-table.csv", keep_default_na=False)
        for row in dips[dips["Gene"] == gene].itertuples():
            a1, a2 = row.Diplotype.split("/", 1)
            phenotype = row.Phenotype.removeprefix(f"{gene} ")
            if a2 == "MALE":
                diplotypes.append([a1, None, phenotype, None])
            elif a1 == "MALE":
                diplotypes.append([a2, None, phenotype, None])
            else:
                diplotypes.append([a1, a2, phenotype, None])
    return {
        "gene": gene,
        "version": "PyPGx fa6b9f70747b (2022-08)",
        "source": "PyPGx (MIT): allele-table.csv, diplotype-table.csv",
        "alleles": alleles,
        "diplotypes": diplotypes,
        "activity_phenotypes": _CYP2D6_RANGES if gene == "CYP2D6" else [],
    }


# --------------------------------------------------------------------------- recommendations


def _plain(text: str | None) -> str:
    """CPIC's recommendation markup as one line of plain text (headings become ' — ')."""
    if not text:
        return ""
    text = re.sub(r"<h\d[^>]*>(.*?)</h\d>", r" — \1: ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", "", text)
    return " ".join(html.unescape(text).split())


def _guideline_urls(pypgx_dir: Path) -> dict[str, tuple[str, str]]:
    table = pd.read_csv(pypgx_dir / "cpic-table.csv", keep_default_na=False)
    return {(str(r.Drug), str(r.Gene)): (str(r.Guideline), str(r.CPICLevel)) for r in table.itertuples()}  # type: ignore[misc]


def _citation(drug_doc: Mapping[str, Any]) -> str:
    cites = [c for c in drug_doc.get("citations") or [] if c.get("year")]
    if not cites:
        return ""
    last = max(cites, key=lambda c: (int(c["year"]), str(c.get("pmid"))))
    return f"{last.get('title', '').rstrip('.')} ({last['year']}; PMID {last.get('pmid')})"


def _pharmcat_rows(report: Mapping[str, Any], urls: Mapping[tuple[str, str], tuple[str, str]]) -> list[dict]:
    version = str(report.get("dataVersion", ""))
    rows = []
    cpic = (report.get("drugs") or {}).get("CPIC Guideline Annotation") or {}
    for drug, doc in cpic.items():
        version_text = _citation(doc)
        for guideline in doc.get("guidelines") or []:
            for ann in guideline.get("annotations") or []:
                for key in ann.get("lookupKey") or [{}]:
                    if not key:
                        continue
                    genes = sorted(key)
                    phenos = ann.get("phenotypes") or {}
                    url, level = next((urls[(drug, g)] for g in genes if (drug, g) in urls), ("", ""))
                    rows.append(
                        {
                            "drug": drug,
                            "genes": ";".join(genes),
                            "lookup": ";".join(f"{g}={key[g]}" for g in genes),
                            "phenotypes": ";".join(f"{g}={phenos.get(g, key[g])}" for g in genes),
                            "population": ann.get("population") or "general",
                            "recommendation": _plain(ann.get("drugRecommendation")) or "No recommendation",
                            "classification": ann.get("classification") or "",
                            "implications": " ".join(_plain(i) for i in ann.get("implications") or []),
                            "guideline": str(guideline.get("name", "")).removeprefix("Annotation of "),
                            "guideline_version": version_text,
                            "guideline_url": url or (guideline.get("url") or ""),
                            "cpic_level": level,
                            "source": f"CPIC data {version} as shipped by PharmCAT {report.get('pharmcatVersion', '')}",
                        }
                    )
    return rows


def _pypgx_rows(pypgx_dir: Path, urls: Mapping[tuple[str, str], tuple[str, str]]) -> list[dict]:
    table = pd.read_csv(pypgx_dir / "recommendation-table.csv", keep_default_na=False)
    rows = []
    for r in table.itertuples():
        text = str(r.Recommendation).strip()
        if not text or text == "None":
            continue
        pairs = [(str(r.Gene1), str(r.Phenotype1))]
        if r.Gene2 not in ("", "None"):
            pairs.append((str(r.Gene2), str(r.Phenotype2)))
        pairs = [(g, _PYPGX_PHENOTYPE_NAMES.get((g, p), p.removeprefix(f"{g} "))) for g, p in sorted(pairs)]
        pairs = [(g, "No Result" if p == "None" else p) for g, p in pairs]  # PharmCAT's name for "not called"
        genes = [g for g, _ in pairs]
        url, level = next((urls[(str(r.Drug), g)] for g in genes if (str(r.Drug), g) in urls), ("", ""))
        lookup = ";".join(f"{g}={p}" for g, p in pairs)
        rows.append(
            {
                "drug": str(r.Drug),
                "genes": ";".join(genes),
                "lookup": lookup,
                "phenotypes": lookup,
                "population": "general",
                "recommendation": " ".join(text.split()),
                "classification": "",
                "implications": "",
                "guideline": f"CPIC Guideline for {r.Drug} and {', '.join(genes)}",
                "guideline_version": "",
                "guideline_url": url,
                "cpic_level": level,
                "source": "PyPGx recommendation-table.csv (CPIC, last updated 2022-08; not re-verified)",
            }
        )
    return rows


def build_recommendation_table(
    pypgx_dir: str | os.PathLike[str], *, reports: Iterable[str | os.PathLike[str]] = ()
) -> pd.DataFrame:
    """The recommendation table: PyPGx's 2022 CPIC rows, overridden by PharmCAT report rows.

    A PharmCAT report row (current CPIC data, with classification and guideline citation) replaces
    every PyPGx row of the same drug and phenotypes; PyPGx rows of drugs the reports cite get the
    guideline citation (latest publication) of that drug.
    """
    folder = Path(pypgx_dir)
    urls = _guideline_urls(folder)
    verified: list[dict] = []
    citations: dict[str, tuple[str, str]] = {}
    for path in reports:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        verified.extend(_pharmcat_rows(report, urls))
        cpic = (report.get("drugs") or {}).get("CPIC Guideline Annotation") or {}
        for drug, doc in cpic.items():
            names = [str(g.get("name", "")).removeprefix("Annotation of ") for g in doc.get("guidelines") or []]
            citations[drug] = (names[0] if names else "", _citation(doc))
    # a phenotype-keyed current row replaces the 2022 row; activity-score-keyed rows cover only their
    # score, so the 2022 phenotype row stays for the other scores (the lookup prefers current rows)
    covered = {(r["drug"], r["phenotypes"]) for r in verified if r["lookup"] == r["phenotypes"]}
    rows = list({(r["drug"], r["lookup"], r["population"]): r for r in verified}.values())
    current_genes: dict[str, set[str]] = defaultdict(set)
    for r in verified:
        current_genes[r["drug"]].update(r["genes"].split(";"))
    for r in _pypgx_rows(folder, urls):
        if (r["drug"], r["phenotypes"]) in covered:
            continue
        if r["drug"] in current_genes and set(r["genes"].split(";")) != current_genes[r["drug"]]:
            continue  # the current guideline keys this drug on other genes (e.g. sertraline + CYP2B6, 2023)
        if r["drug"] in citations:
            r["guideline"], r["guideline_version"] = citations[r["drug"]]
        rows.append(r)
    frame = pd.DataFrame(rows, columns=list(RECOMMENDATION_COLUMNS))
    return frame.sort_values(["drug", "lookup", "population"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- CPIC data as PharmCAT ships it

PRESCRIBING_GUIDANCE_GLOB = "prescribing_guidance*.json"
_XN = "xN combinations"


def _lookup_phenotype(gene: str, value: str) -> str:
    """The phenotype a lookup value stands for: an activity score (``1.5``, ``≥4.0``) maps through the
    gene's shipped phenotype table; any other value (a phenotype, ``*57:01 positive``, ``n/a``) is itself."""
    try:
        score = float(value.lstrip("≥"))
    except ValueError:
        return value
    from biolake.precision.pgx.phenotype import gene_phenotype

    table = gene_phenotype(gene)
    if table is None:
        return value
    phenotype = table.phenotype_of_score(score)
    return value if phenotype in ("", "n/a") else phenotype


def prescribing_guidance_rows(
    doc: Mapping[str, Any],
    *,
    label: str = "",
    known: Mapping[str, tuple[str, str]] | None = None,
) -> list[dict[str, str]]:
    """The CPIC rows of PharmCAT's ``prescribing_guidance.json`` (ClinPGx guideline packages) as table rows.

    Only packages whose guideline ``source`` is ``CPIC`` are read; each recommendation gives one row per
    drug of its ``relatedChemicals`` and per ``lookupKey``. Activity-score keys (``CYP2C9=1.5``) get the
    phenotype of that score in ``phenotypes``. ``known`` maps drug → (guideline_url, cpic_level) to keep
    (the file has no CPIC level and links to ClinPGx, not to cpicpgx.org). Lookup values that are not
    text (FDA-style allele counts) and PharmCAT's ``xN combinations`` notices are skipped.
    """
    try:
        packages = list(doc["guidelines"])
    except (KeyError, TypeError) as exc:
        raise InputError(f"not a PharmCAT prescribing_guidance.json ({exc!r})") from None
    known = known or {}
    rows: list[dict[str, str]] = []
    for package in packages:
        guideline = package.get("guideline") or {}
        if guideline.get("source") != "CPIC":
            continue
        name = str(guideline.get("name", "")).removeprefix("Annotation of ")
        version_text = _citation(package)
        pkg_url = str(package.get("url") or "")
        tag = f"guideline annotation {guideline.get('id', '')} v{guideline.get('version', '')}"
        label = f"; {label}" if label and not label.startswith(";") else label
        for rec in package.get("recommendations") or []:
            classification = (rec.get("classification") or {}).get("term") or ""
            text = _plain((rec.get("text") or {}).get("html")) or "No recommendation"
            implications = " ".join(_plain(i) for i in rec.get("implications") or [])
            population = rec.get("population") or "general"
            for chemical in rec.get("relatedChemicals") or []:
                drug = str(chemical.get("name", ""))
                url, level = known.get(drug, ("", ""))
                for key in rec.get("lookupKey") or []:
                    if not key or not all(isinstance(v, str) for v in key.values()):
                        continue
                    if _XN in key.values():  # PharmCAT's notice for an unsupported CYP2D6 input, not a recommendation
                        continue
                    genes = sorted(key)
                    rows.append(
                        {
                            "drug": drug,
                            "genes": ";".join(genes),
                            "lookup": ";".join(f"{g}={key[g]}" for g in genes),
                            "phenotypes": ";".join(f"{g}={_lookup_phenotype(g, key[g])}" for g in genes),
                            "population": population,
                            "recommendation": text,
                            "classification": classification,
                            "implications": implications,
                            "guideline": name,
                            "guideline_version": version_text,
                            "guideline_url": url or pkg_url,
                            "cpic_level": level,
                            "source": f"CPIC data in PharmCAT prescribing_guidance.json ({tag}{label})",
                        }
                    )
    return rows


def merge_prescribing_guidance(
    base: pd.DataFrame | None,
    doc: Mapping[str, Any],
    *,
    label: str = "",
    known: Mapping[str, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """``base`` with every row of the drugs that ``doc`` covers replaced by ``doc``'s CPIC rows.

    A drug's guideline may rename or drop lookups when it is updated, so the replacement is per drug;
    the drug's cpicpgx.org page and CPIC level are kept from ``base`` (or taken from ``known``: drug →
    (guideline_url, cpic_level), e.g. from PyPGx's ``cpic-table.csv``). Other drugs' rows are untouched.
    """
    urls = {drug: url for drug, (url, _) in (known or {}).items() if url}
    levels = {drug: level for drug, (_, level) in (known or {}).items() if level}
    if base is not None:
        for r in base.itertuples():
            if "cpicpgx.org" in str(r.guideline_url):
                urls.setdefault(str(r.drug), str(r.guideline_url))
            if r.cpic_level:
                levels.setdefault(str(r.drug), str(r.cpic_level))
    known = {drug: (urls.get(drug, ""), levels.get(drug, "")) for drug in set(urls) | set(levels)}
    fresh = pd.DataFrame(prescribing_guidance_rows(doc, label=label, known=known), columns=list(RECOMMENDATION_COLUMNS))
    fresh = fresh.drop_duplicates(["drug", "lookup", "population", "recommendation"])
    if base is not None:
        base = base[~base["drug"].isin(set(fresh["drug"]))]
    merged = pd.concat([base, fresh], ignore_index=True) if base is not None else fresh
    return merged.sort_values(["drug", "lookup", "population"], kind="stable").reset_index(drop=True)


def guidance_label(doc: Mapping[str, Any], name: str) -> str:
    """Where a guidance file comes from, for the ``source`` column: the ``_excerpt`` block of a committed
    excerpt (repository @ commit, file) or else the file name."""
    meta = doc.get("_excerpt") if isinstance(doc, Mapping) else None
    if isinstance(meta, Mapping) and meta.get("source_repository"):
        commit = str(meta.get("source_commit", ""))[:12]
        return f"{meta['source_repository']} @ {commit}, {Path(str(meta.get('source_path', name))).name}"
    return f"file {name}"


_CHANGELOG_NOTE = re.compile(r"; CPIC change log .*$")


def annotate_pypgx_rows(table: pd.DataFrame, changelog: pd.DataFrame, *, since: str, release: str) -> pd.DataFrame:
    """Mark each 2022 PyPGx row with what CPIC's own change log (cpic-data ``data.tsv``) says about its drug.

    ``changelog`` has CPIC's columns ``Date of Change``, ``Type of Data``, ``Subject``; every
    ``RECOMMENDATION`` entry dated ``since`` or later for the row's drug is cited (dates); a drug without
    one is marked as unchanged in CPIC's data since then. Rows from other sources are left as they are.
    """
    recs = changelog[(changelog["Type of Data"] == "RECOMMENDATION") & (changelog["Date of Change"] >= since)]
    dates: dict[str, list[str]] = defaultdict(list)
    for r in recs.itertuples(index=False):
        dates[str(r[2]).strip().lower()].append(str(r[0]))
    out = table.copy()
    for i, row in out.iterrows():
        source = _CHANGELOG_NOTE.sub("", str(row["source"]))
        if source.startswith("PyPGx"):
            changed = sorted(set(dates.get(str(row["drug"]).lower(), [])))
            if changed:
                note = f"records recommendation changes for this drug on {', '.join(changed)}"
                note += ": this 2022 text may be outdated"
            else:
                note = f"records no recommendation change for this drug since {since}"
            source += f"; CPIC change log ({release}) {note}"
        out.at[i, "source"] = source
    return out


# --------------------------------------------------------------------------- update


def _write_json(path: Path, doc: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)


def _diplotype_map(doc: Mapping[str, Any]) -> dict[tuple[str, ...], tuple[Any, Any]]:
    return {tuple(sorted(x for x in d[:2] if x)): (d[2], d[3]) for d in doc.get("diplotypes", [])}


def _phenotype_changes(gene: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[dict]:
    out = []
    old_map = _diplotype_map(old or {})
    new_map = _diplotype_map(new)
    for key in sorted(set(old_map) | set(new_map)):
        before, after = old_map.get(key), new_map.get(key)
        if before == after:
            continue
        out.append(
            {
                "table": "phenotype",
                "gene": gene,
                "call": "/".join(key),
                "change": "added" if before is None else "removed" if after is None else "changed",
                "before": "" if before is None else f"{before[0]} (activity {before[1]})",
                "after": "" if after is None else f"{after[0]} (activity {after[1]})",
            }
        )
    old_alleles = (old or {}).get("alleles", {})
    for name, value in sorted(new.get("alleles", {}).items()):
        if old_alleles.get(name) != value:
            out.append(
                {
                    "table": "allele function",
                    "gene": gene,
                    "call": name,
                    "change": "added" if name not in old_alleles else "changed",
                    "before": "" if name not in old_alleles else str(old_alleles[name]),
                    "after": str(value),
                }
            )
    return out


def _recommendation_changes(old: pd.DataFrame | None, new: pd.DataFrame) -> list[dict]:
    def keyed(frame: pd.DataFrame | None) -> dict[tuple[str, str, str], tuple[str, str]]:
        if frame is None:
            return {}
        return {
            (r.drug, r.lookup, r.population): (r.recommendation, r.classification)
            for r in frame.astype(str).itertuples()
        }

    before_map, after_map = keyed(old), keyed(new)
    out = []
    for key in sorted(set(before_map) | set(after_map)):
        before, after = before_map.get(key), after_map.get(key)
        if before == after:
            continue
        out.append(
            {
                "table": "recommendation",
                "gene": ";".join(p.split("=")[0] for p in key[1].split(";")),
                "call": f"{key[0]}: {key[1]} ({key[2]})",
                "change": "added" if before is None else "removed" if after is None else "changed",
                "before": "" if before is None else f"{before[0]} [{before[1]}]",
                "after": "" if after is None else f"{after[0]} [{after[1]}]",
            }
        )
    return out


def read_recommendations(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a recommendation table (TSV with :data:`RECOMMENDATION_COLUMNS`)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the recommendation table ({exc})", file=path) from None
    missing = [c for c in ("drug", "lookup", "recommendation") if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", file=path, line=1)
    for column in RECOMMENDATION_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    return frame[list(RECOMMENDATION_COLUMNS)]


def write_recommendations(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a recommendation table atomically (TSV)."""
    path = Path(path)
    tmp = path.with_suffix(".tsv.tmp")
    frame[list(RECOMMENDATION_COLUMNS)].to_csv(tmp, sep="\t", index=False, lineterminator="\n")
    tmp.replace(path)


def update_pgx_data(
    source: str | os.PathLike[str],
    *,
    target: str | os.PathLike[str] | None = None,
    pypgx_dir: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
) -> pd.DataFrame:
    """Update the shipped phenotype/recommendation tables from the files in ``source``.

    ``source`` may hold PharmCAT phenotype files (``GENE.json`` with ``namedAlleles`` and
    ``diplotypes``, at the top or under ``phenotypes/``), compact biolake phenotype files, a
    ``cpic_recommendations.tsv`` (replaces the table), PharmCAT ``*.report.json`` files (their CPIC
    rows replace the rows of the same drug and phenotypes) and PharmCAT's ``prescribing_guidance*.json``
    (CPIC data as PharmCAT ships it: every row of each drug it covers is replaced, see
    :func:`merge_prescribing_guidance`). Only genes and rows present in ``source`` change. Returns one
    row per changed call: ``table gene call change before after``.
    """
    src = Path(source)
    if not src.is_dir():
        raise InputError("not a directory", file=src)
    dest = Path(target) if target is not None else data_dir()
    pheno_dir, rec_dir = dest / "phenotypes", dest / "recommendations"
    changes: list[dict] = []
    updates: dict[Path, dict] = {}
    candidates = sorted(src.glob("*.json")) + sorted(src.glob("phenotypes/*.json"))
    reports = [p for p in candidates if p.name.endswith(".report.json")]
    guidance = sorted(src.glob(PRESCRIBING_GUIDANCE_GLOB))
    for path in candidates:
        if path in reports or path in guidance:
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"not JSON ({exc})", file=path) from None
        if not isinstance(doc, dict) or "gene" not in doc:
            continue
        if "namedAlleles" in doc:
            compact = compact_pharmcat_phenotype(doc, source=f"PharmCAT phenotype file {path.name}")
        elif "alleles" in doc and "diplotypes" in doc:
            compact = doc
        else:
            continue
        gene = compact["gene"]
        target_path = pheno_dir / f"{gene.replace('-', '_')}.json"
        old = json.loads(target_path.read_text(encoding="utf-8")) if target_path.exists() else None
        changes.extend(_phenotype_changes(gene, old, compact))
        updates[target_path] = compact
    rec_path = rec_dir / RECOMMENDATIONS_FILE
    old_recs = read_recommendations(rec_path) if rec_path.exists() else None
    new_recs = None
    if (src / RECOMMENDATIONS_FILE).exists():
        new_recs = read_recommendations(src / RECOMMENDATIONS_FILE)
    if reports:
        base = new_recs if new_recs is not None else old_recs
        urls = _guideline_urls(Path(pypgx_dir)) if pypgx_dir else {}
        fresh: list[dict] = []
        for path in reports:
            try:
                fresh.extend(_pharmcat_rows(json.loads(path.read_text(encoding="utf-8")), urls))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"not a PharmCAT report JSON ({exc})", file=path) from None
        fresh_frame = pd.DataFrame(fresh, columns=list(RECOMMENDATION_COLUMNS))
        replaced = set(zip(fresh_frame["drug"], fresh_frame["phenotypes"], strict=True))
        if base is not None:
            keep = [(d, p) not in replaced for d, p in zip(base["drug"], base["phenotypes"], strict=True)]
            base = base[keep]
        new_recs = pd.concat([base, fresh_frame], ignore_index=True) if base is not None else fresh_frame
        new_recs = new_recs.drop_duplicates(["drug", "lookup", "population"], keep="last")
        new_recs = new_recs.sort_values(["drug", "lookup", "population"], kind="stable").reset_index(drop=True)
    for path in guidance:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"not a PharmCAT prescribing_guidance.json ({exc})", file=path) from None
        try:
            new_recs = merge_prescribing_guidance(
                new_recs if new_recs is not None else old_recs, doc, label=guidance_label(doc, path.name)
            )
        except InputError as exc:
            raise InputError(exc.problem, file=path) from None
    if new_recs is not None:
        changes.extend(_recommendation_changes(old_recs, new_recs))
    if not dry_run:
        pheno_dir.mkdir(parents=True, exist_ok=True)
        for path, doc in updates.items():
            _write_json(path, doc)
        if new_recs is not None:
            rec_dir.mkdir(parents=True, exist_ok=True)
            write_recommendations(new_recs, rec_path)
        if updates or new_recs is not None:
            stamp = dest / "phenotypes" / "UPDATES.txt"
            with stamp.open("a", encoding="utf-8") as fh:
                fh.write(f"updated from {src.resolve()}: {len(changes)} changed calls\n")
    from biolake.precision.pgx import phenotype as _phenotype  # drop cached tables

    _phenotype.clear_cache()
    return pd.DataFrame(changes, columns=["table", "gene", "call", "change", "before", "after"])


def copy_notices(dest: str | os.PathLike[str], notices: Mapping[str, str | os.PathLike[str]]) -> None:
    """Copy licence files into ``dest`` (used by the build script)."""
    for name, path in notices.items():
        shutil.copyfile(path, Path(dest) / name)
