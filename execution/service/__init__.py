"""The execution service's IO shell: command stream, journal, publishing, restart."""
