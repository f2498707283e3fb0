# Every target creates or reuses .venv by itself, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test browser bench zoo clean pictures

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m atelier demo --out gallery

test: $(STAMP) browser
	$(PY) -m pytest -q

# The studio's browser tests drive Debian's Chromium (Playwright cannot download its own here).
browser:
	command -v chromium >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

bench: $(STAMP)
	$(PY) benchmarks/run.py --out docs/benchmarks.md

zoo: $(STAMP)
	$(PY) -m atelier.zoo.recipes

clean:
	rm -rf $(VENV) gallery build *.egg-info

# The pictures in README.md, made by the CLI from the shipped models.
pictures: $(STAMP) browser
	$(VENV)/bin/atelier sample mnist-cgan --n 100 --seed 1 --class all --out docs/images/readme-cgan.png
	$(VENV)/bin/atelier interpolate mnist-dcgan --seeds 3,11 --steps 10 --out docs/images/readme-interpolation.png
	$(VENV)/bin/atelier reconstruct mnist-vae --n 16 --out docs/images/readme-reconstruct.png
	rm -rf build/pictures && mkdir -p build/pictures && cd build/pictures && ../../$(VENV)/bin/atelier examples --out . \
	  && ../../$(VENV)/bin/atelier stylize photo.jpg --method fast --style starry_night --out starry.png \
	  && ../../$(VENV)/bin/atelier analyze photo.jpg a.mid --report . \
	  && ../../$(VENV)/bin/atelier compare photo.jpg starry.png --report ../../docs/images/analysis-compare.png
	cp build/pictures/photo-report.png docs/images/analysis-photo.png
	cp build/pictures/a-report.png docs/images/analysis-melody.png
	ATELIER_SCREENSHOTS=1 $(PY) -m pytest -q tests/studio/test_browser.py   # the studio's, by its browser tests
