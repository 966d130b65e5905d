"""Tests of the web pages and of the self-served API docs."""

from __future__ import annotations

import re

import pandas as pd

import biolake as bl


def _local_only(html: str) -> None:
    """Every src/href of the page points to this server (no CDN, no other host)."""
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert url.startswith(("/", "?", "#")) and not url.startswith("//"), url


def test_home__lists_datasets_and_runs(ro_client):
    response = ro_client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<a href="/datasets/patients">patients</a>' in response.text
    assert 'id="runs"' in response.text
    _local_only(response.text)


def test_datasets_page__filter_by_name(ro_client):
    assert "/datasets/patients" in ro_client.get("/datasets").text
    assert "/datasets/patients" in ro_client.get("/datasets?q=PAT").text
    filtered = ro_client.get("/datasets?q=zzz").text
    assert "/datasets/patients" not in filtered and "No datasets." in filtered


def test_dataset_page__schema_preview_and_downloads(ro_client):
    html = ro_client.get("/datasets/patients").text
    schema = html.split('id="schema"', 1)[1].split("</table>", 1)[0]
    assert [c for c in re.findall(r"<td>(\w+)</td>", schema)] == ["id", "age", "site"]
    preview = html.split('id="preview"', 1)[1].split("</table>", 1)[0]
    assert preview.count("<tr>") == 5  # header + 4 rows
    assert '<td class="num">62</td>' in preview
    assert "/datasets/patients/download?format=parquet" in html
    _local_only(html)


def test_dataset_page__unknown_and_invalid_names(ro_client):
    page = ro_client.get("/datasets/nobody", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "no dataset named" in page.text
    assert ro_client.get("/datasets/%2e%2e", headers={"Accept": "text/html"}).status_code == 422


def test_dataset_page__values_are_escaped(client, lake_dir):
    evil = "<script>alert(1)</script>"
    bl.Lake.open(lake_dir).write_table("notes", pd.DataFrame({"text": [evil], "n": [1]}))
    html = client.get("/datasets/notes").text
    assert evil not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_dataset_page__download_link_streams_csv(ro_client):
    response = ro_client.get("/datasets/patients/download?format=csv")
    assert response.text.splitlines()[0] == "id,age,site"


def test_runs_pages__list_record_and_framed_report(ro_client, template_lake):
    [run] = bl.Lake.open(template_lake).runs()
    assert f'href="/runs/{run.id}"' in ro_client.get("/runs").text
    html = ro_client.get(f"/runs/{run.id}").text
    assert f'<iframe class="report" src="/runs/{run.id}/report" sandbox="allow-scripts' in html
    report = ro_client.get(f"/runs/{run.id}/report")
    assert report.status_code == 200 and report.headers["content-security-policy"].startswith("sandbox")


def test_sql_page__query_and_results_table(ro_client):
    assert "<textarea" in ro_client.get("/sql").text
    response = ro_client.post("/sql", data={"query": "select site, count(*) as n from patients group by 1 order by 1"})
    assert response.status_code == 200
    table = response.text.split('id="result"', 1)[1].split("</table>", 1)[0]
    assert "<th>site</th><th>n</th>" in table
    assert table.count("<tr>") == 4


def test_sql_page__refused_and_wrong_queries_show_the_error(ro_client):
    refused = ro_client.post("/sql", data={"query": "select * from read_csv('/etc/passwd')"})
    assert refused.status_code == 403 and 'id="sql-error"' in refused.text and "root:" not in refused.text
    wrong = ro_client.post("/sql", data={"query": "selec 1"})
    assert wrong.status_code == 400 and "Parser Error" in wrong.text


def test_docs__swagger_ui_from_own_assets(ro_client):
    html = ro_client.get("/docs").text
    _local_only(html)
    assert '<script src="/static/swagger/swagger-ui-bundle.js"></script>' in html
    assert "script-src 'self';" in ro_client.get("/docs").headers["content-security-policy"]
    js = ro_client.get("/static/swagger/swagger-ui-bundle.js")
    assert js.status_code == 200 and "SwaggerUIBundle" in js.text
    assert ro_client.get("/static/swagger/swagger-ui.css").status_code == 200
    assert "/openapi.json" in ro_client.get("/static/docs.js").text


def test_openapi__documents_the_api(ro_client):
    spec = ro_client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/api/datasets",
        "/api/datasets/{name}",
        "/api/datasets/{name}/schema",
        "/api/datasets/{name}/preview",
        "/api/datasets/{name}/download",
        "/api/sql",
        "/api/runs",
        "/api/runs/{run_id}",
        "/api/runs/{run_id}/report",
    } <= paths
    assert not any(p.startswith(("/datasets", "/login", "/static")) for p in paths)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
