# The two commands a newcomer needs are `make plan STACK=prod` and `make test`;
# both create venv/ from the requirements files first when it is missing or stale.
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STACK ?= prod
FORMAT ?= text

.PHONY: venv plan test check docs lint bench clean

$(STAMP): requirements.txt requirements-dev.txt policy_pack/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

plan: $(STAMP)
	@$(BIN)/python -m erpctl plan --stack $(STACK) --format $(FORMAT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/python -m erpctl check --stack $(STACK)

docs: $(STAMP)
	$(BIN)/python -m erpctl docs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy components erpctl policy_pack/erp_policies

bench: $(STAMP)
	$(BIN)/python benchmarks/plan_scaling.py
	$(BIN)/python benchmarks/check_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
