"""Analysis and critique of works: pictures (:mod:`.images`) and melodies (:mod:`.melodies`)."""
