"""Options shared by every test folder."""


def pytest_addoption(parser):
    parser.addoption(
        "--accept-golden", action="store_true", help="rewrite golden files from the current code (review the diff)"
    )
