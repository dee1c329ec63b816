//! Locating the state roots, the project's sessions and one session by id or prefix (being written).
