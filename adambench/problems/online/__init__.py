"""Online convex problems (docs/theory.md §2, §4): generated sequences f_1..f_T on a bounded set."""
