"""python -m visionseg.monitor RESULTS: text and an HTML page from a results log."""

from __future__ import annotations

from visionseg.monitor.__main__ import main
from visionseg.monitor.results_log import ResultsLog


def _status(i: int) -> dict:
    psi = 0.05 if i < 6 else 0.4
    return {"images": i + 1, "drift": "ok" if i < 6 else "act", "worst_feature": "brightness_g",
            "worst_psi": psi, "psi": {"brightness_g": psi, "sharpness": 0.02}, "ng": "ok",
            "ng_rate": 0.2, "ng_expected": 0.1, "ng_p_value": 0.3,
            "alerts": ["drift: brightness_g PSI 0.400 >= act band (after 7 image(s))"]
            if i == 6 else []}


def _write_log(folder):
    with ResultsLog(folder / "results.jsonl") as log:
        for i in range(10):
            log.append({"name": f"p{i}", "file": f"p{i}.png", "time": f"2026-01-01T00:00:0{i}Z",
                        "status": "ok", "verdict": "NG" if i in (2, 5, 8) else "OK",
                        "latency_ms": {"predict": 10.0 + i, "total": 20.0 + i},
                        "monitor": _status(i)})
        log.append({"name": "bad", "file": "bad.png", "time": "2026-01-01T00:00:10Z",
                    "status": "error", "error": "cannot be decoded"})


def test_text_and_page(tmp_path, capsys):
    _write_log(tmp_path)
    assert main([str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "10 inspected, 3 NG (30.0 %), 1 unreadable or failed" in text
    assert "Drift:       act (worst brightness_g PSI 0.400)" in text
    assert "#7 2026-01-01T00:00:06Z p6.png: drift: brightness_g" in text
    assert "bad.png: cannot be decoded" in text
    page = (tmp_path / "monitor.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "PSI per statistic" in page


def test_a_log_without_drift_has_no_drift_plot(tmp_path, capsys):
    with ResultsLog(tmp_path / "results.jsonl") as log:
        log.append({"name": "a", "file": "a.png", "time": "t", "status": "ok", "verdict": "OK",
                    "latency_ms": {"total": 1.0}, "monitor": {"drift": "unavailable"}})
    assert main([str(tmp_path / "results.jsonl"), "--html", str(tmp_path / "p.html")]) == 0
    assert "Drift:       unavailable" in capsys.readouterr().out
    page = (tmp_path / "p.html").read_text()
    assert "Drift unavailable" in page and "data:image/png" not in page


def test_a_missing_log_is_one_error_line_and_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
