//! Adapters for two public datasets, so that revops can be tried on data nobody on
//! this team wrote (feature `csv`).
//!
//! - **Olist "Marketing Funnel"** (Brazilian marketplace, MQLs of 2017-06 … 2018-06):
//!   [`read_olist`] turns the marketing-qualified-leads file and the closed-deals file
//!   into [`Lead`]s and `mql` → `won` [`StageEvent`]s of the demand waterfall.
//! - **Maven Analytics "CRM Sales Opportunities"** (a fictional B2B hardware seller):
//!   [`read_maven`] turns the pipeline file into [`Opportunity`]s and their
//!   [`OpportunityChange`] history in the [`maven_funnel`] stages.
//!
//! The datasets are not shipped with revops (their licences do not allow it): pass
//! readers over your own copies. The adapters never fix the data silently. What looks
//! wrong but is kept (a deal won before its lead's first contact) and what cannot be
//! used (a deal with no date at all) is listed in [`Quirk`]s, each naming the record.
//!
//! ```
//! use revops::real::read_olist;
//! # fn main() -> Result<(), revops::Error> {
//! let mqls = "mql_id,first_contact_date,landing_page_id,origin\n\
//!             m1,2018-02-01,lp9,social\n\
//!             m2,2018-02-03,lp9,\n";
//! let deals = "mql_id,seller_id,sdr_id,sr_id,won_date,business_segment,lead_type,\
//!              lead_behaviour_profile,has_company,has_gtin,average_stock,business_type,\
//!              declared_product_catalog_size,declared_monthly_revenue\n\
//!              m1,s1,sdr1,sr1,2018-03-01 10:00:00,pet,online_medium,cat,,,,reseller,,0.0\n";
//! let data = read_olist(mqls.as_bytes(), deals.as_bytes())?;
//! assert_eq!(data.leads.len(), 2);
//! assert_eq!(data.leads[1].source, None); // empty origin: unknown source, kept
//! assert_eq!(data.stage_events.len(), 3); // two MQLs, one won
//! assert!(data.quirks.is_empty());
//! # Ok(()) }
//! ```

use crate::error::ErrorKind;
use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, Utc};

use crate::error::{Error, Excerpt, RecordRef, Result};
use crate::funnel::definition::{Funnel, Stage, StageKind, StageOwner};
use crate::ids::{AccountId, Channel, LeadId, OpportunityId, SubjectId};
use crate::money::{Currency, Money};
use crate::records::{ForecastCategory, Lead, Opportunity, OpportunityChange, StageEvent};

/// Something in a real dataset that is kept as it is but deserves attention, or a
/// record that could not be used (see each adapter for which).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quirk {
    /// The record concerned (kind, zero-based data-row index, id).
    pub record: RecordRef,
    /// What is unusual, and what the adapter did about it.
    pub message: String,
}

/// A CSV file read by header name, with line-numbered errors.
///
/// The datasets have no multi-line values, so a field that spans lines is a quote
/// that does not close where it should (the parser would read on to the next quote,
/// or to the end of the file): an error naming the line and column.
struct Table<R: Read> {
    name: &'static str,
    reader: csv::Reader<R>,
    columns: HashMap<String, usize>,
    names: Vec<String>,
    record: csv::StringRecord,
}

impl<R: Read> Table<R> {
    fn open(name: &'static str, input: R, required: &[&str]) -> Result<Table<R>> {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
        let headers = reader.headers().map_err(|e| csv_error(name, &e))?.clone();
        let mut columns = HashMap::new();
        // The parser drops one byte-order mark at the start; a second stays in the name.
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim().to_ascii_lowercase();
            if columns.insert(h.clone(), i).is_some() {
                return Err(Error::from(ErrorKind::Csv {
                    source_name: name.into(),
                    line: 1,
                    column: Some(h),
                    reason: "duplicate column".into(),
                }));
            }
        }
        for r in required {
            if !columns.contains_key(*r) {
                return Err(Error::from(ErrorKind::Csv {
                    source_name: name.into(),
                    line: 1,
                    column: Some((*r).into()),
                    reason: "required column is missing".into(),
                }));
            }
        }
        Ok(Table {
            name,
            reader,
            columns,
            names: headers.iter().map(|h| h.trim().to_string()).collect(),
            record: csv::StringRecord::new(),
        })
    }

    /// Advances to the next row; `Ok(false)` at the end.
    fn next(&mut self) -> Result<bool> {
        let more = self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| csv_error(self.name, &e))?;
        if let Some(i) = self.record.iter().position(|f| f.contains(['\n', '\r'])) {
            let column = self.names.get(i).map_or("", String::as_str);
            return Err(self.error(
                column,
                "unclosed quote: the quote that opens this field runs past the end of its line \
                 (this dataset has no multi-line values)",
            ));
        }
        Ok(more)
    }

    fn line(&self) -> u64 {
        self.record.position().map_or(0, csv::Position::line)
    }

    /// The trimmed field, or `""` when the column is absent.
    fn get(&self, column: &str) -> &str {
        self.columns
            .get(column)
            .and_then(|&i| self.record.get(i))
            .map_or("", str::trim)
    }

    fn error(&self, column: &str, reason: impl Into<String>) -> Error {
        Error::from(ErrorKind::Csv {
            source_name: self.name.into(),
            line: self.line(),
            column: Some(column.into()),
            reason: reason.into(),
        })
    }

    fn required(&self, column: &str) -> Result<&str> {
        match self.get(column) {
            "" => Err(self.error(column, "empty value")),
            v => Ok(v),
        }
    }

    fn optional(&self, column: &str) -> Option<&str> {
        Some(self.get(column)).filter(|v| !v.is_empty())
    }

    /// `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`, taken as UTC.
    fn timestamp(&self, column: &str) -> Result<DateTime<Utc>> {
        let v = self.required(column)?;
        crate::csv::parse::timestamp(v.as_bytes()).ok_or_else(|| {
            self.error(
                column,
                format!(
                    "`{}` is not a date (YYYY-MM-DD) or timestamp (YYYY-MM-DD HH:MM:SS) in the years 0000 to 9999",
                    Excerpt(v)
                ),
            )
        })
    }

    fn id<T>(&self, column: &str, make: impl Fn(&str) -> Result<T>) -> Result<T> {
        make(self.required(column)?).map_err(|e| self.error(column, e.to_string()))
    }
}

fn csv_error(name: &str, e: &csv::Error) -> Error {
    Error::from(ErrorKind::Csv {
        source_name: name.into(),
        line: e.position().map_or(0, csv::Position::line),
        column: None,
        reason: e.to_string(),
    })
}

/// Leads and stage events read from the Olist marketing funnel files.
#[derive(Debug, Clone, PartialEq)]
pub struct OlistData {
    /// One lead per MQL row: id `mql_id`, created at `first_contact_date` (UTC
    /// midnight), source `origin` (an empty origin is `None`; the dataset's literal
    /// `unknown` is kept as the channel `unknown`), attribute `landing_page_id`. Won
    /// leads also get `owner` = `sdr_id`, `segment` = `business_segment` and the
    /// deal's non-empty profile columns as attributes (`seller_id`, `sr_id`,
    /// `lead_type`, `lead_behaviour_profile`, `business_type`, `has_company`,
    /// `has_gtin`, `average_stock`, `declared_product_catalog_size`,
    /// `declared_monthly_revenue`).
    pub leads: Vec<Lead>,
    /// An `mql` event at each lead's first contact, and a `won` event at each closed
    /// deal's `won_date`, in file order (all MQLs first).
    pub stage_events: Vec<StageEvent>,
    /// Kept-but-odd records: deals won before their lead's first contact, deals whose
    /// `mql_id` is not among the MQLs (their `won` event is kept; the funnel engine
    /// reports it as an event for an unknown lead).
    pub quirks: Vec<Quirk>,
}

/// Reads the Olist marketing-qualified-leads file and the closed-deals file.
///
/// # Errors
/// [`ErrorKind::Csv`] naming the file, line and column of a malformed row (missing
/// column, empty id, unparseable date); [`ErrorKind::DuplicateId`] for an `mql_id` listed
/// twice in either file.
pub fn read_olist(mqls: impl Read, closed_deals: impl Read) -> Result<OlistData> {
    let mut t = Table::open(
        "olist_marketing_qualified_leads_dataset.csv",
        mqls,
        &["mql_id", "first_contact_date", "origin"],
    )?;
    let mut leads = Vec::new();
    let mut stage_events = Vec::new();
    let mut index: HashMap<LeadId, usize> = HashMap::new();
    while t.next()? {
        let id = t.id("mql_id", |s: &str| LeadId::new(s))?;
        let created_at = t.timestamp("first_contact_date")?;
        let mut lead = Lead::new(id.clone(), created_at);
        lead.source = t
            .optional("origin")
            .map(|o| Channel::new(o).map_err(|e| t.error("origin", e.to_string())))
            .transpose()?;
        if let Some(lp) = t.optional("landing_page_id") {
            lead.attributes.insert("landing_page_id".into(), lp.into());
        }
        let i = leads.len();
        if let Some(first) = index.insert(id.clone(), i) {
            return Err(Error::from(ErrorKind::DuplicateId {
                kind: "mql",
                id: id.to_string(),
                first,
                second: i,
            }));
        }
        stage_events.push(StageEvent::new(SubjectId::from(&id), "mql", created_at));
        leads.push(lead);
    }

    let mut t = Table::open(
        "olist_closed_deals_dataset.csv",
        closed_deals,
        &["mql_id", "won_date"],
    )?;
    let mut quirks = Vec::new();
    let mut won_at: HashMap<LeadId, usize> = HashMap::new();
    let mut row = 0;
    while t.next()? {
        let id = t.id("mql_id", |s: &str| LeadId::new(s))?;
        let at = t.timestamp("won_date")?;
        let record = || RecordRef::new("closed deal").with_index(row).with_id(&id);
        if let Some(first) = won_at.insert(id.clone(), row) {
            return Err(Error::from(ErrorKind::DuplicateId {
                kind: "closed deal",
                id: id.to_string(),
                first,
                second: row,
            }));
        }
        match index.get(&id) {
            Some(&i) => {
                let lead = &mut leads[i];
                if at < lead.created_at {
                    quirks.push(Quirk {
                        record: record(),
                        message: format!(
                            "won at {at}, before the lead's first contact at {}; kept as is",
                            lead.created_at
                        ),
                    });
                }
                lead.owner = t.optional("sdr_id").map(str::to_string);
                lead.segment = t.optional("business_segment").map(str::to_string);
                for col in [
                    "seller_id",
                    "sr_id",
                    "lead_type",
                    "lead_behaviour_profile",
                    "business_type",
                    "has_company",
                    "has_gtin",
                    "average_stock",
                    "declared_product_catalog_size",
                    "declared_monthly_revenue",
                ] {
                    if let Some(v) = t.optional(col) {
                        lead.attributes.insert(col.into(), v.into());
                    }
                }
            }
            None => quirks.push(Quirk {
                record: record(),
                message: "no MQL with this mql_id; the won event is kept".into(),
            }),
        }
        stage_events.push(StageEvent::new(SubjectId::from(&id), "won", at));
        row += 1;
    }
    Ok(OlistData {
        leads,
        stage_events,
        quirks,
    })
}

/// The Olist marketing funnel: MQL → Won (the files record the first contact of each
/// marketing-qualified lead and the closing date of the deals won).
///
/// ```
/// let f = revops::real::olist_funnel();
/// assert_eq!(f.stage_index("won"), Some(1));
/// ```
pub fn olist_funnel() -> Funnel {
    Funnel::new(
        "olist mql to won",
        vec![
            Stage::new(
                "mql",
                "Marketing Qualified Lead",
                StageOwner::Marketing,
                StageKind::Open,
            ),
            Stage::new("won", "Won", StageOwner::Sales, StageKind::Won),
        ],
    )
    .expect("the Olist funnel is valid")
}

/// The stages of the Maven CRM dataset: Prospecting → Engaging → Won, with Lost.
///
/// ```
/// let f = revops::real::maven_funnel();
/// assert_eq!(f.stage_index("Engaging"), Some(1));
/// ```
pub fn maven_funnel() -> Funnel {
    use StageKind::*;
    use StageOwner::Sales;
    Funnel::new(
        "maven crm",
        vec![
            Stage::new("prospecting", "Prospecting", Sales, Open),
            Stage::new("engaging", "Engaging", Sales, Open),
            Stage::new("won", "Won", Sales, Won).with_probability(1.0),
            Stage::new("lost", "Lost", Sales, Lost).with_probability(0.0),
        ],
    )
    .expect("the Maven funnel is valid")
}

/// Opportunities and their history read from the Maven CRM pipeline file.
#[derive(Debug, Clone, PartialEq)]
pub struct MavenData {
    /// One opportunity per usable row: id `opportunity_id`, owner `sales_agent`,
    /// account `account` (often empty: `None`), attribute `product`, created at
    /// `engage_date`, current stage `deal_stage` (as a [`maven_funnel`] key), amount
    /// `close_value` for closed deals and **zero for open deals** (the dataset gives
    /// them no value; each such deal is listed in `quirks`), close date `close_date`
    /// for closed deals, forecast category `closed` (won), `omitted` (lost) or
    /// `pipeline` (open).
    pub opportunities: Vec<Opportunity>,
    /// Per opportunity: an `engaging` change at `engage_date`, then for closed deals a
    /// `won` / `lost` change at `close_date` (UTC midnight). The dataset has no amount
    /// history, so both rows carry the deal's final value.
    pub history: Vec<OpportunityChange>,
    /// Rows not used (Prospecting deals have no date at all, so they cannot be placed
    /// in time) and open deals whose amount is unknown (recorded as zero).
    pub quirks: Vec<Quirk>,
    /// How many rows were skipped (each also listed in `quirks`).
    pub skipped: usize,
}

/// Reads `maven_crm_sales_pipeline.csv`; amounts are in `currency` (the dataset does
/// not say; its values look like US dollars).
///
/// # Errors
/// [`ErrorKind::Csv`] naming the line and column of a malformed row (unknown stage,
/// unparseable date or value, a closed deal without close date, a negative value);
/// [`ErrorKind::DuplicateId`] for a repeated `opportunity_id`.
pub fn read_maven(pipeline: impl Read, currency: Currency) -> Result<MavenData> {
    let funnel = maven_funnel();
    let mut t = Table::open(
        "maven_crm_sales_pipeline.csv",
        pipeline,
        &[
            "opportunity_id",
            "sales_agent",
            "deal_stage",
            "engage_date",
            "close_date",
            "close_value",
        ],
    )?;
    let mut data = MavenData {
        opportunities: Vec::new(),
        history: Vec::new(),
        quirks: Vec::new(),
        skipped: 0,
    };
    let mut seen: HashMap<OpportunityId, usize> = HashMap::new();
    let mut row = 0;
    while t.next()? {
        let id = t.id("opportunity_id", |s: &str| OpportunityId::new(s))?;
        if let Some(first) = seen.insert(id.clone(), row) {
            return Err(Error::from(ErrorKind::DuplicateId {
                kind: "opportunity",
                id: id.to_string(),
                first,
                second: row,
            }));
        }
        let this = row;
        row += 1;
        let record = || RecordRef::new("opportunity").with_index(this).with_id(&id);
        let stage_text = t.required("deal_stage")?;
        let stage = funnel.stage(stage_text).ok_or_else(|| {
            t.error(
                "deal_stage",
                format!("unknown stage `{}`", Excerpt(stage_text)),
            )
        })?;
        let (kind, probability, stage_key) = (stage.kind, stage.probability, stage.key.clone());

        let Some(_) = t.optional("engage_date") else {
            data.skipped += 1;
            data.quirks.push(Quirk {
                record: record(),
                message: format!("{stage_text} deal without engage date; skipped"),
            });
            continue;
        };
        let engaged = t.timestamp("engage_date")?;
        let (amount, close_date) = if kind.is_terminal() {
            let value = t.required("close_value")?;
            let value = crate::csv::parse::decimal(value.as_bytes()).ok_or_else(|| {
                t.error(
                    "close_value",
                    format!("`{}` is not a decimal number", Excerpt(value)),
                )
            })?;
            if value.is_sign_negative() && !value.is_zero() {
                return Err(t.error("close_value", format!("negative value {value}")));
            }
            let closed = t.timestamp("close_date")?;
            (Money::new(value, currency), Some(closed))
        } else {
            data.quirks.push(Quirk {
                record: record(),
                message: "open deal without value; amount recorded as zero".into(),
            });
            (Money::zero(currency), None)
        };

        let mut opp = Opportunity::new(id.clone(), engaged, stage_key.clone(), amount);
        opp.owner = t.optional("sales_agent").map(str::to_string);
        opp.account = t
            .optional("account")
            .map(|a| AccountId::new(a).map_err(|e| t.error("account", e.to_string())))
            .transpose()?;
        if let Some(p) = t.optional("product") {
            opp.attributes.insert("product".into(), p.into());
        }
        opp.close_date = close_date.map(|c| c.date_naive());
        opp.probability = probability;
        opp.forecast_category = Some(match kind {
            StageKind::Won => ForecastCategory::Closed,
            StageKind::Open => ForecastCategory::Pipeline,
            _ => ForecastCategory::Omitted,
        });

        let mut engaging = OpportunityChange::new(id.clone(), engaged, "engaging", amount);
        engaging.forecast_category = Some(ForecastCategory::Pipeline);
        data.history.push(engaging);
        if let Some(closed) = close_date {
            let mut c = OpportunityChange::new(id.clone(), closed, stage_key, amount);
            c.close_date = opp.close_date;
            c.probability = opp.probability;
            c.forecast_category = opp.forecast_category;
            data.history.push(c);
        }
        data.opportunities.push(opp);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAVEN_HEADER: &str = "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n";

    #[test]
    fn maven_rows_map_to_history() {
        let csv = format!(
            "{MAVEN_HEADER}A,Ann,GTX,Acme,Won,2017-01-02,2017-02-03,1054\n\
             B,Bob,MG,,Engaging,2017-03-04,,\n\
             C,Cy,GTX,,Prospecting,,,\n\
             D,Di,GTX,Beta,Lost,2017-01-05,2017-01-20,0\n"
        );
        let d = read_maven(csv.as_bytes(), Currency::USD).unwrap();
        assert_eq!(d.opportunities.len(), 3);
        assert_eq!(d.skipped, 1);
        assert_eq!(d.quirks.len(), 2);
        assert_eq!(d.quirks[0].record.index, Some(1));
        assert_eq!(d.history.len(), 5);
        let a = &d.opportunities[0];
        assert_eq!(a.amount, Money::parse("1054", Currency::USD).unwrap());
        assert_eq!(a.stage, "won");
        assert_eq!(a.attributes["product"], "GTX");
        assert_eq!(d.opportunities[1].account, None);
        for o in &d.opportunities {
            o.validate().unwrap();
        }
    }

    #[test]
    fn maven_errors_name_line_and_column() {
        let csv = format!("{MAVEN_HEADER}A,Ann,GTX,Acme,Won,2017-01-02,2017-02-30,1054\n");
        let e = read_maven(csv.as_bytes(), Currency::USD).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Csv { line: 2, column, .. } if column.as_deref() == Some("close_date")),
            "{e}"
        );
        let csv = format!("{MAVEN_HEADER}A,Ann,GTX,Acme,Shipped,2017-01-02,2017-02-03,1\n");
        let e = read_maven(csv.as_bytes(), Currency::USD).unwrap_err();
        assert_eq!(
            e.to_string(),
            "maven_crm_sales_pipeline.csv line 2, column `deal_stage`: unknown stage `Shipped`"
        );
        let csv = format!(
            "{MAVEN_HEADER}A,Ann,GTX,Acme,Won,2017-01-02,2017-02-03,1\nA,Ann,GTX,Acme,Won,2017-01-02,2017-02-03,1\n"
        );
        assert!(matches!(
            read_maven(csv.as_bytes(), Currency::USD).map_err(|e| e.into_kind()),
            Err(ErrorKind::DuplicateId {
                first: 0,
                second: 1,
                ..
            })
        ));
        let e = read_maven("opportunity_id,deal_stage\n".as_bytes(), Currency::USD).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Csv { line: 1, .. }), "{e}");
    }

    #[test]
    fn an_unclosed_quote_is_an_error_not_a_swallowed_tail() {
        let mut csv = format!("{MAVEN_HEADER}A,Ann,GTX,Acme,Won,2017-01-02,2017-02-03,\"1054\n");
        for i in 0..500 {
            csv += &format!("B{i},Bob,MG,,Won,2017-03-04,2017-03-05,10\n");
        }
        let e = read_maven(csv.as_bytes(), Currency::USD).unwrap_err();
        assert!(
            matches!(&e.kind(), ErrorKind::Csv { line: 2, column: Some(c), reason, .. } if c == "close_value" && reason.contains("unclosed quote")),
            "{e}"
        );
        // A quote in a middle column, closed rows later.
        let csv = format!(
            "{MAVEN_HEADER}A,\"Ann,GTX,Acme,Won,2017-01-02,2017-02-03,1\nB,Bob,MG\",,Won,2017-03-04,2017-03-05,10,x\n"
        );
        let e = read_maven(csv.as_bytes(), Currency::USD).unwrap_err();
        assert!(
            matches!(&e.kind(), ErrorKind::Csv { line: 2, column: Some(c), .. } if c == "sales_agent"),
            "{e}"
        );
        // One byte-order mark is dropped, a second is part of the name.
        let mqls =
            "\u{feff}mql_id,first_contact_date,landing_page_id,origin\nm1,2018-02-01,lp9,social\n";
        let deals = "mql_id,won_date\n";
        assert!(read_olist(mqls.as_bytes(), deals.as_bytes()).is_ok());
        let mqls = format!("\u{feff}{mqls}");
        assert!(read_olist(mqls.as_bytes(), deals.as_bytes()).is_err());
    }

    #[test]
    fn olist_reports_early_wins_and_unknown_mqls() {
        let mqls =
            "mql_id,first_contact_date,landing_page_id,origin\nm1,2018-03-08,lp,paid_search\n";
        let deals = "mql_id,won_date\nm1,2018-03-06 19:38:55\nm9,2018-04-01 00:00:00\n";
        let d = read_olist(mqls.as_bytes(), deals.as_bytes()).unwrap();
        assert_eq!(d.quirks.len(), 2);
        assert!(
            d.quirks[0]
                .message
                .contains("before the lead's first contact")
        );
        assert_eq!(d.quirks[1].record.to_string(), "closed deal #1 (id m9)");
        assert_eq!(d.stage_events.len(), 3);
        let bad = "mql_id,first_contact_date,landing_page_id,origin\nm1,01/02/2018,lp,x\n";
        let e = read_olist(bad.as_bytes(), deals.as_bytes()).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "olist_marketing_qualified_leads_dataset.csv line 2, column `first_contact_date`"
            ),
            "{e}"
        );
    }
}
