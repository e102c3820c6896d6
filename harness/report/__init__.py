"""What grading and reference runs produce for people: HTML pages, the gradebook CSV, Gradescope's JSON."""
