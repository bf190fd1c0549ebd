from tests.functional.harness import Api


def test_create_show_delete_loadbalancer(api: Api) -> None:
    lb = api.create_lb(name="web")
    assert lb["operating_status"] == "ONLINE"
    r = api.member.get(f"/loadbalancers/{lb['id']}")
    assert r.status_code == 200
    r = api.member.delete(f"/loadbalancers/{lb['id']}")
    assert r.status_code == 204, r.text
