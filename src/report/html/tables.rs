//! The page's data tables: a `<caption>`, `<th scope>` headers, figures right-aligned
//! with a raw sort key (`data-v`), rates as `28.8 % (29,469 / 102,212) [27.1–30.5]`,
//! money at the currency's minor units (its code in the header or caption), and
//! `n/a (why)` where a value is undefined. Totals sit in `<tfoot>` so sorting leaves them last.

use std::fmt::Write as _;

use super::esc;
use crate::money::Money;
use crate::ratio::{Interval, Ratio};
use crate::report::text::{ci, grouped};

/// One table cell: what it shows and, for figures, the raw value it sorts by.
pub(super) struct Cell {
    text: String,
    sort: Option<String>,
}

impl Cell {
    /// Text, left-aligned, sorted as text.
    pub(super) fn text(s: impl Into<String>) -> Cell {
        Cell {
            text: s.into(),
            sort: None,
        }
    }

    /// A count: `29,469`.
    pub(super) fn count(n: impl Into<u64>) -> Cell {
        let n = n.into();
        Cell {
            text: grouped(&n.to_string()),
            sort: Some(n.to_string()),
        }
    }

    /// A number with `digits` decimals.
    pub(super) fn num(v: f64, digits: usize) -> Cell {
        Cell {
            text: grouped(&format!("{v:.digits$}")),
            sort: Some(format!("{v}")),
        }
    }

    /// A number with `digits` decimals, or `n/a (why)`.
    pub(super) fn opt_num(v: Option<f64>, digits: usize, why: &str) -> Cell {
        v.map_or_else(|| Cell::na(why), |v| Cell::num(v, digits))
    }

    /// A fraction shown in percent with one decimal: `0.288` → `28.8 %`.
    pub(super) fn opt_percent(v: Option<f64>, why: &str) -> Cell {
        v.map_or_else(
            || Cell::na(why),
            |v| Cell {
                text: format!("{:.1} %", 100.0 * v),
                sort: Some(format!("{v}")),
            },
        )
    }

    /// Money at its currency's minor units, `1,722,170.00`; the currency code is in
    /// the column header or caption, so a pasted column reads as numbers.
    pub(super) fn money(m: &Money) -> Cell {
        let mut a = m.round_to_minor_units().amount();
        a.rescale(u32::from(m.currency().minor_units()));
        Cell {
            text: grouped(&a.to_string()),
            sort: Some(a.to_string()),
        }
    }

    /// Money, or `n/a (why)`.
    pub(super) fn opt_money(m: Option<&Money>, why: &str) -> Cell {
        m.map_or_else(|| Cell::na(why), Cell::money)
    }

    /// A rate with its counts and interval: `28.8 % (29,469 / 102,212) [27.1–30.5]`;
    /// `n/a (0 / 0: why)` when the denominator is zero.
    pub(super) fn rate(r: &Ratio, interval: Option<Interval>, why: &str) -> Cell {
        let counts = format!(
            "{} / {}",
            grouped(&r.numerator.to_string()),
            grouped(&r.denominator.to_string())
        );
        match r.value() {
            Some(v) => Cell {
                text: format!("{:.1} % ({counts}){}", 100.0 * v, ci(interval)),
                sort: Some(format!("{v}")),
            },
            None => Cell::na(&format!("{counts}: {why}")),
        }
    }

    /// What the cell shows.
    pub(super) fn shown(&self) -> &str {
        &self.text
    }

    /// An undefined value: `n/a (why)`, sorted after every figure.
    pub(super) fn na(why: &str) -> Cell {
        Cell {
            text: format!("n/a ({why})"),
            sort: Some(String::new()),
        }
    }
}

/// A table being written.
pub(super) struct Table {
    out: String,
    head: Vec<String>,
    started: bool,
    in_body: bool,
}

impl Table {
    /// A table `id` with its `caption` and column headers; the first column holds the
    /// row headers.
    pub(super) fn new(id: &str, caption: &str, head: &[&str]) -> Table {
        let mut out = String::with_capacity(2048);
        let _ = write!(
            out,
            "<div class=\"scroll\"><table class=\"data\" id=\"{id}\"><caption>{}</caption>",
            esc(caption)
        );
        Table {
            out,
            head: head.iter().map(|h| esc(h)).collect(),
            started: false,
            in_body: true,
        }
    }

    /// The header row, written with the first row: a text column's header is
    /// aligned like its cells.
    fn start(&mut self, cells: &[Cell]) {
        if self.started {
            return;
        }
        self.started = true;
        self.out.push_str("<thead><tr>");
        for (i, h) in self.head.iter().enumerate() {
            let text = i > 0 && cells.get(i - 1).is_some_and(|c| c.sort.is_none());
            let class = if text { " class=\"txt\"" } else { "" };
            let _ = write!(self.out, "<th scope=\"col\"{class}>{h}</th>");
        }
        self.out.push_str("</tr></thead><tbody>");
    }

    fn write_row(&mut self, name: &str, cells: &[Cell]) {
        self.start(cells);
        let _ = write!(self.out, "<tr><th scope=\"row\">{}</th>", esc(name));
        for c in cells {
            match &c.sort {
                Some(v) => {
                    let _ = write!(
                        self.out,
                        "<td class=\"num\" data-v=\"{}\">{}</td>",
                        esc(v),
                        esc(&c.text)
                    );
                }
                None => {
                    let _ = write!(self.out, "<td>{}</td>", esc(&c.text));
                }
            }
        }
        self.out.push_str("</tr>");
    }

    /// A data row headed `name`.
    pub(super) fn row(&mut self, name: &str, cells: &[Cell]) {
        self.write_row(name, cells);
    }

    /// A total row, kept last when the table is sorted.
    pub(super) fn total(&mut self, name: &str, cells: &[Cell]) {
        if self.in_body {
            self.out.push_str("</tbody><tfoot>");
            self.in_body = false;
        }
        self.write_row(name, cells);
    }

    /// The table's markup.
    pub(super) fn finish(mut self) -> String {
        self.start(&[]);
        self.out.push_str(if self.in_body {
            "</tbody></table></div>"
        } else {
            "</tfoot></table></div>"
        });
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use rust_decimal::Decimal;

    #[test]
    fn cells_format_rates_money_and_gaps() {
        let r = Ratio {
            numerator: 29_469,
            denominator: 102_212,
        };
        let c = Cell::rate(&r, None, "none");
        assert_eq!(c.text, "28.8 % (29,469 / 102,212)");
        let z = Ratio {
            numerator: 0,
            denominator: 0,
        };
        assert_eq!(
            Cell::rate(&z, None, "no closed deal").text,
            "n/a (0 / 0: no closed deal)"
        );
        let m = Money::new(Decimal::new(-12_345_678, 4), Currency::USD);
        let c = Cell::money(&m);
        assert_eq!(
            (c.text.as_str(), c.sort.as_deref()),
            ("-1,234.57", Some("-1234.57"))
        );
        assert_eq!(Cell::money(&Money::zero(Currency::USD)).text, "0.00");
        let jpy = Money::new(Decimal::new(1_234_567, 0), Currency::JPY);
        assert_eq!(Cell::money(&jpy).text, "1,234,567");
        assert_eq!(Cell::count(1_000_000u64).text, "1,000,000");
    }

    #[test]
    fn every_string_is_escaped_and_totals_go_last() {
        let mut t = Table::new("t", "<b>", &["<x>", "n"]);
        t.row("<script>alert(1)</script>", &[Cell::count(1u64)]);
        t.total("total", &[Cell::count(1u64)]);
        let html = t.finish();
        assert!(!html.contains("<script>") && !html.contains("<b>") && !html.contains("<x>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<tfoot><tr><th scope=\"row\">total</th>"));
        assert!(html.ends_with("</tfoot></table></div>"));
    }
}
