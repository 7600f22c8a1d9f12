//! The report as one self-contained HTML page: a contents list, then one section per
//! part of the report with its SVG chart (where one exists) and a real `<table>` of its
//! numbers. Nothing is loaded from elsewhere; a few lines of inline script make the
//! tables sortable, and the page reads fully without them.

mod charts;
mod sections;
mod tables;

use std::fmt::Write as _;

use super::Report;

/// The ids of the charts [`Report::to_html`] can draw, in page order.
pub const CHART_IDS: [&str; 6] = [
    "chart-funnel",
    "chart-attribution",
    "chart-cost-per-stage",
    "chart-pipeline-waterfall",
    "chart-calibration",
    "chart-plan",
];

/// Escapes text for HTML and SVG.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Text colours: #222 on white is 15.9:1, #555 7.5:1, the header blue #1d3f72 on its
/// #eef2f8 background 9.4:1 (WCAG AA needs 4.5:1).
const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#222;background:#fff;margin:24px auto;max-width:960px;padding:0 16px;line-height:1.45}
h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;margin-top:40px;border-bottom:2px solid #4a6fa5;padding-bottom:4px}
a{color:#1d4f91}nav ol{columns:2;padding-left:22px}nav li{margin:2px 0}.why{color:#555}
figure{margin:12px 0 16px}figcaption{font-size:13px;color:#555;margin-top:4px}svg{max-width:100%;height:auto;border:1px solid #eee}
.missing{color:#555;font-style:italic}.note{font-size:14px;color:#444}
.scroll{overflow-x:auto;margin:8px 0 20px}
table{border-collapse:collapse;font-size:13px;min-width:60%;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;font-size:14px;padding:4px 0;caption-side:top}
td,th{padding:4px 10px;border-bottom:1px solid #e3e3e3;vertical-align:top}
thead th{background:#eef2f8;color:#1d3f72;text-align:right;white-space:nowrap}thead th:first-child,thead th.txt{text-align:left}
tbody th,tfoot th{text-align:left;font-weight:normal}td{text-align:left}td.num{text-align:right;white-space:nowrap}
tfoot th,tfoot td{font-weight:600;border-top:2px solid #bbb}
button.sort{font:inherit;color:inherit;background:none;border:0;padding:0;cursor:pointer;font-weight:600}
th[aria-sort=ascending] button.sort::after{content:' \\25B2'}th[aria-sort=descending] button.sort::after{content:' \\25BC'}
@media print{@page{margin:12mm}body{max-width:none;margin:0;padding:0;font-size:11pt}nav ol{columns:1}
h2{break-after:avoid}figure,svg{break-inside:avoid}svg{max-width:100%;height:auto;border:0}
.scroll{overflow:visible}table{font-size:8pt}td.num,thead th{white-space:normal}th,td{padding:2px 4px}thead{display:table-header-group}tr{break-inside:avoid}a{color:inherit;text-decoration:none}}";

/// Sorting by a header click: figures by their `data-v` (an `n/a` last), text as text;
/// a second click reverses. Totals sit in `<tfoot>` and stay last.
const SCRIPT: &str = "(function(){function k(c){var v=c.getAttribute('data-v');if(v===null)return undefined;if(v==='')return null;return parseFloat(v);}
document.querySelectorAll('table.data').forEach(function(t){var hs=t.tHead.rows[0].cells;
Array.prototype.forEach.call(hs,function(th,i){var b=document.createElement('button');b.type='button';b.className='sort';
while(th.firstChild)b.appendChild(th.firstChild);th.appendChild(b);
b.addEventListener('click',function(){var up=th.getAttribute('aria-sort')!=='ascending';
Array.prototype.forEach.call(hs,function(h){h.removeAttribute('aria-sort');});th.setAttribute('aria-sort',up?'ascending':'descending');
var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
rows.sort(function(a,b){var x=a.cells[i],y=b.cells[i],p=k(x),q=k(y);
if(p===null||q===null){if(p!==q)return p===null?1:-1;return 0;}
var r=(p!==undefined&&q!==undefined)?p-q:x.textContent.localeCompare(y.textContent);return up?r:-r;});
rows.forEach(function(r){body.appendChild(r);});});});});})();";

/// Nothing from elsewhere: no network, inline style and script only.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

impl Report {
    /// The report as one self-contained HTML page: a contents list (sections not in
    /// the report are named there with the reason), then one section per part of the
    /// report with its SVG chart where one exists (ids in [`CHART_IDS`]; each has a
    /// `<title>` and `<desc>`) and a `<table>` of its numbers (caption, `th scope`,
    /// figures right-aligned, rates with `k / n` and interval, money at minor units
    /// with the currency, `n/a` with its reason). A few lines of inline script sort a
    /// table by a header click; the page reads fully without them. Nothing is loaded
    /// from elsewhere, and every string from the input is escaped.
    ///
    /// ```
    /// let r = revops::report::Report::build(&revops::report::ReportInput::default(), &revops::report::ReportOptions::default())?;
    /// let html = r.to_html();
    /// assert!(html.starts_with("<!DOCTYPE html>"));
    /// assert!(!html.contains("<pre") && !html.contains("<script src"));
    /// # Ok::<(), revops::Error>(())
    /// ```
    pub fn to_html(&self) -> String {
        let mut o = String::with_capacity(128 * 1024);
        let _ = writeln!(
            o,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>revops report — {}</title><style>{STYLE}</style></head><body>",
            self.as_of.format("%Y-%m-%d")
        );
        let _ = writeln!(
            o,
            "<header><h1>Revenue report</h1><p>As of {}, amounts in {}. One funnel, one set of rules: every number below comes from the same records. Click a column header to sort a table.</p>",
            self.as_of.format("%Y-%m-%d %H:%M UTC"),
            esc(&self.currency.to_string())
        );
        let i = &self.inputs;
        let mut t = tables::Table::new("table-inputs", "Records read", &["input", "records"]);
        for (name, n) in [
            ("leads", i.leads),
            ("stage events", i.stage_events),
            ("touches", i.touches),
            ("conversions", i.conversions),
            ("spend rows", i.spend),
            ("opportunity changes", i.opportunity_history),
            ("forecast points", i.forecasts),
        ] {
            t.row(name, &[tables::Cell::count(n as u64)]);
        }
        o.push_str(&t.finish());
        o.push_str("</header>\n");

        let parts = sections::parts(self);
        o.push_str("<nav aria-labelledby=\"contents\"><h2 id=\"contents\">Contents</h2><ol>");
        for p in &parts {
            match &p.body {
                Ok(_) => {
                    let _ = write!(o, "<li><a href=\"#{}\">{}</a></li>", p.id, esc(&p.title));
                }
                Err(why) => {
                    let _ = write!(
                        o,
                        "<li>{} <span class=\"why\">— not in this report: {}</span></li>",
                        esc(&p.title),
                        esc(why)
                    );
                }
            }
        }
        o.push_str("</ol>");
        if !self.omitted.is_empty() {
            o.push_str("<p class=\"note\">Not in this report:</p><ul class=\"note\">");
            for m in &self.omitted {
                let _ = write!(
                    o,
                    "<li><code>{}</code>: {}</li>",
                    esc(&m.section),
                    esc(&m.reason)
                );
            }
            o.push_str("</ul>");
        }
        o.push_str("</nav>\n");
        for p in parts {
            let _ = write!(o, "<section id=\"{}\"><h2>{}</h2>", p.id, esc(&p.title));
            match p.body {
                Ok(body) => o.push_str(&body),
                Err(why) => {
                    let _ = write!(
                        o,
                        "<p class=\"missing\">Not in this report: {}.</p>",
                        esc(&why)
                    );
                }
            }
            o.push_str("</section>\n");
        }
        let _ = writeln!(o, "<script>{SCRIPT}</script>\n</body></html>");
        o
    }
}
