from fix_gateway.auth import hash_password, verify_password


def test_a_password_verifies_against_its_own_salted_hash_only():
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert verify_password("s3cret", stored)
    assert not verify_password("S3cret", stored)
    assert not verify_password("", stored)


def test_the_same_password_hashes_differently_each_time():
    assert hash_password("x") != hash_password("x")


def test_a_malformed_stored_hash_never_verifies():
    assert not verify_password("x", "plain-text")
    assert not verify_password("x", "md5$1$2$3$abc$def")


def test_fixex_hash_password_prints_a_hash_that_verifies(capsys, monkeypatch):
    import io

    from fix_gateway.cli import main
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    assert main(["hash-password"]) == 0
    assert verify_password("s3cret", capsys.readouterr().out.strip())
