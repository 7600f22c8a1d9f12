//! Calendar periods and time windows.
