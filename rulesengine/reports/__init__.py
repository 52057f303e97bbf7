"""Reports after the close: the daily report and the weekly post-trade review, as text and
HTML, built from the journal alone (so a backtest's journal gets the same reports)."""
