"""``python -m atelier.music.examples``: make the example tunes again from the corpus."""

from atelier.music.examples import main

raise SystemExit(main())
