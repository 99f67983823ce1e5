"""Writes committed on every path, or in a `with conn:` transaction."""

import sqlite3


def add(path, name):
    conn = sqlite3.connect(path)
    try:
        conn.execute("INSERT INTO pkgs (name) VALUES (?)", (name,))
        conn.commit()
    except sqlite3.Error:
        conn.rollback()
        raise
    finally:
        conn.close()


def remove(path, name):
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM pkgs WHERE name = ?", (name,))
    conn.close()


def rename(path, old, new, verbose):
    conn = sqlite3.connect(path)
    conn.execute("UPDATE pkgs SET name = ? WHERE name = ?", (new, old))
    if verbose:
        print("renamed")
        conn.commit()
    else:
        conn.commit()
    conn.close()


def bulk(conn, rows):
    conn.executemany("INSERT INTO pkgs (name) VALUES (?)", rows)
