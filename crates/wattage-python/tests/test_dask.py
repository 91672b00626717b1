"""`wattage.dask.sweep` on a local Dask cluster (two worker processes on the loopback
interface) returns the rows of a single-process sweep, in variant order."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest

from distributed import Client, LocalCluster

import wattage
import wattage.dask

from conftest import DATA

SWEEP = DATA / "sweep_small.toml"


@pytest.fixture(scope="module")
def client():
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        protocol="tcp",
    ) as cluster, Client(cluster) as c:
        yield c


def test_dask_sweep_equals_the_single_process_sweep(client):
    whole = wattage.sweep(SWEEP)
    for chunk in (1, 5, 12, 100):
        r = wattage.dask.sweep(SWEEP, client, chunk=chunk)
        assert r.to_dict() == whole.to_dict(), chunk
        pd.testing.assert_frame_equal(r.rows, whole.rows)


def test_dask_sweep_ran_on_the_workers(client):
    r = wattage.dask.sweep(SWEEP, client, chunk=3)
    assert len(r.rows) == 12
    # Each worker process counts the engine calls it ran; the tasks ran there.
    calls = client.run(lambda: __import__("wattage")._wattage._peak_concurrency(False))
    assert len(calls) == 2 and any(n >= 1 for n in calls.values()), calls


def test_dask_sweep_of_a_spec_given_as_text_or_dict(client, tmp_path):
    spec = {
        "name": "inline",
        "base": "builtin:peak-shaving",
        "duration": "3h",
        "step": "120s",
        "seeds": 2,
        "grid": {"grid.import_cap_mw": [50.0, 55.0, 60.0]},
    }
    whole = wattage.sweep(spec)
    assert wattage.dask.sweep(spec, client, chunk=2).to_dict() == whole.to_dict()
    # A spec in another folder, as text: its base resolves from the cwd, made absolute here.
    text = SWEEP.read_text().replace("../../../../scenarios/peak-shaving.toml", str((DATA / "../../../../scenarios/peak-shaving.toml").resolve()))
    assert wattage.dask.sweep(text, client, chunk=4).to_dict() == wattage.sweep(SWEEP).to_dict()


def test_dask_sweep_errors_come_back_as_input_errors(client):
    with pytest.raises(wattage.InputError) as e:
        wattage.dask.sweep({"name": "bad", "base": "builtin:peak-shaving", "grid": {"nothing.here": [1]}}, client)
    assert "nothing" in str(e.value)
    with pytest.raises(wattage.InputError) as e:
        wattage.dask.sweep(SWEEP, client, chunk=0)
    assert e.value.param == "chunk"
    # An error raised in a worker crosses the process boundary with its attributes.
    with pytest.raises(wattage.InputError) as e:
        client.submit(wattage.estimate, model="llama-3.1-70b", gpus=1, pure=False).result()
    assert e.value.param == "gpus" and e.value.hints


def test_results_say_they_cannot_be_pickled():
    r = wattage.simulate_site("builtin:peak-shaving", duration="1h", step="60s")
    with pytest.raises(TypeError, match="to_dict"):
        pickle.dumps(r)
    assert pickle.loads(pickle.dumps(r.energy_mwh_by_source)) == r.energy_mwh_by_source
