# `make run` starts the studio on the embedded default; `make test` runs `make lint` (ruff, mypy strict on core/)
# then the whole suite. Both set up .venv.
.PHONY: run test lint bench worker

run:
	@scripts/bootstrap.sh
	PYTHONPATH=. .venv/bin/python -m streamlit run studio/app.py --server.address 127.0.0.1

lint:
	@scripts/bootstrap.sh
	.venv/bin/python -m ruff check .
	PYTHONPATH=. .venv/bin/python -m mypy

test: lint
	@scripts/test-services.sh
	PYTHONPATH=. .venv/bin/python -m pytest -n 2 --dist loadgroup

worker:
	@scripts/bootstrap.sh
	PYTHONPATH=. .venv/bin/python -m core worker

bench:
	@scripts/bootstrap.sh
	PYTHONPATH=. .venv/bin/python bench/ingest.py
	PYTHONPATH=. .venv/bin/python bench/prompts.py
	PYTHONPATH=. .venv/bin/python bench/render.py
	PYTHONPATH=. .venv/bin/python bench/voice.py
	PYTHONPATH=. .venv/bin/python bench/load.py
