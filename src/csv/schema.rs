//! How each record type maps to its columns: header resolution, decoding a row and
//! encoding a record. The trait is sealed: the set of schemas is the crate's.

use crate::error::ErrorKind;
use std::collections::{BTreeSet, HashSet};

use super::field::{
    Ctx, EncodeError, Fields, Header, RowError, RowFields, date, decimal, field, float, id,
    is_blank, key, opt_date, opt_field, opt_float, opt_id, opt_text, optional, timestamp, utf8,
    validated,
};
use super::parse;
use crate::error::{Error, Excerpt};
use crate::ids::{AccountId, CampaignId, Channel, LeadId};
use crate::records::{
    Conversion, ForecastCategory, ForecastPoint, Lead, OpportunityChange, PathRow, Spend,
    StageEvent, Touch,
};

// ---- the schemas ------------------------------------------------------------------

/// Whether column `i` is none of the schema's structured columns (ids, keys, codes,
/// dates, numbers).
fn none_of(i: usize, structured: &[Option<usize>]) -> bool {
    !structured.contains(&Some(i))
}

/// One canonical CSV schema (implemented for the record types only).
pub trait Schema: Sized {
    /// The record kind named in writer errors.
    const KIND: &'static str;
    /// Where each column sits in the file being read.
    type Columns: Clone + Send + Sync;
    /// Finds the columns in the header.
    fn resolve(header: &Header) -> Result<Self::Columns, RowError>;
    /// Whether column `index` of the file may hold free text, the only kind of value
    /// a quoted field may spread over several lines for: a column the schema reads as
    /// text kept as written (`reason`, a lead's `owner`, `segment` and attributes), or
    /// one it does not read at all. Ids, keys, codes, dates and numbers never span lines.
    fn free_text(columns: &Self::Columns, index: usize) -> bool;
    /// Builds and validates one record from a row that has as many fields as the header.
    fn decode<W: RowFields>(
        columns: &Self::Columns,
        row: &W,
        ctx: &mut Ctx,
    ) -> Result<Self, RowError>;
    /// Columns to write after the fixed ones (lead attributes), given all the records.
    fn extra_columns(_records: &[Self]) -> crate::Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// Appends the record's fields to `out.record`.
    fn encode(&self, extra: &[String], out: &mut Fields) -> Result<(), EncodeError>;
}

/// Columns of `stage_events.csv`.
#[derive(Debug, Clone)]
pub struct StageEventColumns {
    pub(super) subject: usize,
    pub(super) stage: usize,
    pub(super) at: usize,
    pub(super) cycle: Option<usize>,
    pub(super) reason: Option<usize>,
}

impl Schema for StageEvent {
    const KIND: &'static str = "stage event";
    type Columns = StageEventColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(StageEventColumns {
            subject: h.required("subject_id")?,
            stage: h.required("stage")?,
            at: h.required("at")?,
            cycle: h.optional("cycle"),
            reason: h.optional("reason"),
        })
    }

    fn free_text(c: &Self::Columns, i: usize) -> bool {
        none_of(i, &[Some(c.subject), Some(c.stage), Some(c.at), c.cycle])
    }

    fn decode<W: RowFields>(c: &Self::Columns, row: &W, ctx: &mut Ctx) -> Result<Self, RowError> {
        let e = StageEvent {
            subject: ctx.subject(field(row, c.subject), "subject_id")?,
            stage: key(field(row, c.stage), "stage")?,
            at: timestamp(field(row, c.at), "at")?,
            cycle: optional(
                opt_field(row, c.cycle),
                "cycle",
                "a whole number",
                "expected 0 to 4294967295",
                parse::unsigned,
            )?,
            reason: opt_text(opt_field(row, c.reason), "reason")?,
        };
        validated(e.validate(), &[])?;
        Ok(e)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.key(self.subject.as_str(), "subject")?;
        out.key(&self.stage, "stage")?;
        out.timestamp(&self.at, "at")?;
        out.opt_display(self.cycle);
        out.opt_text(self.reason.as_deref());
        Ok(())
    }
}

/// Columns of `touches.csv`.
#[derive(Debug, Clone)]
pub struct TouchColumns {
    pub(super) subject: usize,
    pub(super) channel: usize,
    pub(super) campaign: usize,
    pub(super) at: usize,
    pub(super) cost: Option<(usize, usize)>,
}

impl Schema for Touch {
    const KIND: &'static str = "touch";
    type Columns = TouchColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        let cost = match (h.optional("cost"), h.optional("currency")) {
            (Some(cost), Some(currency)) => Some((cost, currency)),
            (Some(_), None) => {
                return Err(RowError::new(
                    "currency",
                    "missing column `currency` (required with `cost`)",
                ));
            }
            (None, _) => None,
        };
        Ok(TouchColumns {
            subject: h.required("subject_id")?,
            channel: h.required("channel")?,
            campaign: h.required("campaign")?,
            at: h.required("at")?,
            cost,
        })
    }

    fn free_text(c: &Self::Columns, i: usize) -> bool {
        none_of(
            i,
            &[
                Some(c.subject),
                Some(c.channel),
                Some(c.campaign),
                Some(c.at),
                c.cost.map(|(a, _)| a),
                c.cost.map(|(_, b)| b),
            ],
        )
    }

    fn decode<W: RowFields>(c: &Self::Columns, row: &W, ctx: &mut Ctx) -> Result<Self, RowError> {
        let subject = ctx.subject(field(row, c.subject), "subject_id")?;
        let channel = ctx.channel(field(row, c.channel), "channel")?;
        let campaign = ctx.opt_campaign(field(row, c.campaign), "campaign")?;
        let at = timestamp(field(row, c.at), "at")?;
        let cost = match c.cost {
            Some((cost, currency)) => ctx.opt_money(
                (field(row, cost), "cost"),
                (field(row, currency), "currency"),
            )?,
            None => None,
        };
        let t = Touch {
            subject,
            channel,
            campaign,
            at,
            cost,
        };
        validated(t.validate(), &[])?;
        Ok(t)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.key(self.subject.as_str(), "subject")?;
        out.key(self.channel.as_str(), "channel")?;
        out.opt_key(self.campaign.as_ref().map(CampaignId::as_str), "campaign")?;
        out.timestamp(&self.at, "at")?;
        out.opt_money(self.cost.as_ref());
        Ok(())
    }
}

/// Columns of `conversions.csv`.
#[derive(Debug, Clone)]
pub struct ConversionColumns {
    subject: usize,
    at: usize,
    value: usize,
    currency: usize,
}

impl Schema for Conversion {
    const KIND: &'static str = "conversion";
    type Columns = ConversionColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(ConversionColumns {
            subject: h.required("subject_id")?,
            at: h.required("at")?,
            value: h.required("value")?,
            currency: h.required("currency")?,
        })
    }

    fn free_text(c: &Self::Columns, i: usize) -> bool {
        none_of(
            i,
            &[Some(c.subject), Some(c.at), Some(c.value), Some(c.currency)],
        )
    }

    fn decode<W: RowFields>(c: &Self::Columns, row: &W, ctx: &mut Ctx) -> Result<Self, RowError> {
        let subject = ctx.subject(field(row, c.subject), "subject_id")?;
        let at = timestamp(field(row, c.at), "at")?;
        let value = ctx.opt_money(
            (field(row, c.value), "value"),
            (field(row, c.currency), "currency"),
        )?;
        let conversion = Conversion { subject, at, value };
        validated(conversion.validate(), &[])?;
        Ok(conversion)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.key(self.subject.as_str(), "subject")?;
        out.timestamp(&self.at, "at")?;
        out.opt_money(self.value.as_ref());
        Ok(())
    }
}

/// Columns of `spend.csv`.
#[derive(Debug, Clone)]
pub struct SpendColumns {
    channel: usize,
    campaign: usize,
    period_start: usize,
    period_end: usize,
    amount: usize,
    currency: usize,
}

impl Schema for Spend {
    const KIND: &'static str = "spend";
    type Columns = SpendColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(SpendColumns {
            channel: h.required("channel")?,
            campaign: h.required("campaign")?,
            period_start: h.required("period_start")?,
            period_end: h.required("period_end")?,
            amount: h.required("amount")?,
            currency: h.required("currency")?,
        })
    }

    fn free_text(c: &Self::Columns, i: usize) -> bool {
        none_of(
            i,
            &[
                Some(c.channel),
                Some(c.campaign),
                Some(c.period_start),
                Some(c.period_end),
                Some(c.amount),
                Some(c.currency),
            ],
        )
    }

    fn decode<W: RowFields>(c: &Self::Columns, row: &W, ctx: &mut Ctx) -> Result<Self, RowError> {
        let s = Spend {
            channel: ctx.channel(field(row, c.channel), "channel")?,
            campaign: ctx.opt_campaign(field(row, c.campaign), "campaign")?,
            period_start: date(field(row, c.period_start), "period_start")?,
            period_end: date(field(row, c.period_end), "period_end")?,
            amount: ctx.money(
                (field(row, c.amount), "amount"),
                (field(row, c.currency), "currency"),
            )?,
        };
        validated(s.validate(), &[])?;
        Ok(s)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.key(self.channel.as_str(), "channel")?;
        out.opt_key(self.campaign.as_ref().map(CampaignId::as_str), "campaign")?;
        out.date(self.period_start, "period_start")?;
        out.date(self.period_end, "period_end")?;
        out.opt_money(Some(&self.amount));
        Ok(())
    }
}

/// Columns of `opportunity_history.csv`.
#[derive(Debug, Clone)]
pub struct OpportunityChangeColumns {
    opportunity: usize,
    changed_at: usize,
    stage: usize,
    amount: usize,
    currency: usize,
    close_date: usize,
    probability: usize,
    forecast_category: usize,
    lead: Option<usize>,
}

impl Schema for OpportunityChange {
    const KIND: &'static str = "opportunity change";
    type Columns = OpportunityChangeColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(OpportunityChangeColumns {
            opportunity: h.required("opportunity_id")?,
            changed_at: h.required("changed_at")?,
            stage: h.required("stage")?,
            amount: h.required("amount")?,
            currency: h.required("currency")?,
            close_date: h.required("close_date")?,
            probability: h.required("probability")?,
            forecast_category: h.required("forecast_category")?,
            lead: h.optional("lead_id"),
        })
    }

    fn free_text(c: &Self::Columns, i: usize) -> bool {
        none_of(
            i,
            &[
                Some(c.opportunity),
                Some(c.changed_at),
                Some(c.stage),
                Some(c.amount),
                Some(c.currency),
                Some(c.close_date),
                Some(c.probability),
                Some(c.forecast_category),
                c.lead,
            ],
        )
    }

    fn decode<W: RowFields>(c: &Self::Columns, row: &W, ctx: &mut Ctx) -> Result<Self, RowError> {
        let opportunity = ctx.opportunity(field(row, c.opportunity), "opportunity_id")?;
        let changed_at = timestamp(field(row, c.changed_at), "changed_at")?;
        let stage = key(field(row, c.stage), "stage")?;
        let amount = ctx.money(
            (field(row, c.amount), "amount"),
            (field(row, c.currency), "currency"),
        )?;
        let close_date = opt_date(field(row, c.close_date), "close_date")?;
        let probability = opt_float(field(row, c.probability), "probability")?;
        if let Some(p) = probability
            && looks_like_a_percentage(field(row, c.probability), p)
        {
            return Err(RowError::new(
                "probability",
                format!(
                    "{p} is outside [0, 1]: give probabilities as fractions (0.75), not percentages (75)"
                ),
            ));
        }
        let forecast_category = {
            let b = field(row, c.forecast_category);
            if is_blank(b) {
                None
            } else {
                Some(
                    utf8(b, "forecast_category")?
                        .parse::<ForecastCategory>()
                        .map_err(|_| {
                            RowError::new(
                                "forecast_category",
                                format!(
                                    "`{}` is not a forecast category (expected pipeline, best_case, most_likely, commit, closed or omitted)",
                                    parse::excerpt(b)
                                ),
                            )
                        })?,
                )
            }
        };
        let lead = match c.lead {
            Some(i) => ctx.opt_lead(field(row, i), "lead_id")?,
            None => None,
        };
        let change = OpportunityChange {
            opportunity,
            changed_at,
            stage,
            amount,
            close_date,
            probability,
            forecast_category,
            lead,
        };
        validated(change.validate(), &[])?;
        Ok(change)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.key(self.opportunity.as_str(), "opportunity")?;
        out.timestamp(&self.changed_at, "changed_at")?;
        out.key(&self.stage, "stage")?;
        out.opt_money(Some(&self.amount));
        out.opt_date(self.close_date, "close_date")?;
        out.opt_display(self.probability);
        out.opt_text(
            self.forecast_category
                .as_ref()
                .map(ForecastCategory::as_str),
        );
        out.opt_key(self.lead.as_ref().map(LeadId::as_str), "lead")?;
        Ok(())
    }
}

/// Whether a probability outside \[0, 1\] was likely written as a percentage: a
/// plain number in (1, 100] with at most two decimals (`75`, `99.5`, not
/// `1.0000001` or `1.5e1`), so that the hint to write fractions fits.
pub(crate) fn looks_like_a_percentage(text: &[u8], p: f64) -> bool {
    let t = text.trim_ascii();
    let decimals = t
        .iter()
        .position(|&b| b == b'.')
        .map_or(0, |point| t.len() - point - 1);
    p > 1.0
        && p <= 100.0
        && decimals <= 2
        && t.iter()
            .all(|b| b.is_ascii_digit() || *b == b'.' || *b == b'+')
}

/// Columns of `paths.csv`.
#[derive(Debug, Clone)]
pub struct PathColumns {
    pub(super) path: usize,
    pub(super) conversions: usize,
    pub(super) value: usize,
    pub(super) nulls: usize,
}

/// `PathRow`'s field names and the columns that hold them.
pub(crate) const PATH_FIELDS: &[(&str, &str)] = &[
    ("conversions", "total_conversions"),
    ("value", "total_conversion_value"),
    ("nulls", "total_null"),
];

impl Schema for PathRow {
    const KIND: &'static str = "path";
    type Columns = PathColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(PathColumns {
            path: h.required("path")?,
            conversions: h.required("total_conversions")?,
            value: h.required("total_conversion_value")?,
            nulls: h.required("total_null")?,
        })
    }

    fn free_text(c: &Self::Columns, i: usize) -> bool {
        none_of(
            i,
            &[
                Some(c.path),
                Some(c.conversions),
                Some(c.value),
                Some(c.nulls),
            ],
        )
    }

    fn decode<W: RowFields>(c: &Self::Columns, row: &W, ctx: &mut Ctx) -> Result<Self, RowError> {
        let path = ctx.path(utf8(field(row, c.path), "path")?, "path")?;
        let row = PathRow {
            path,
            conversions: float(field(row, c.conversions), "total_conversions")?,
            value: decimal(field(row, c.value), "total_conversion_value")?,
            nulls: float(field(row, c.nulls), "total_null")?,
        };
        validated(row.validate(0), PATH_FIELDS)?;
        Ok(row)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.path(&self.path, "path")?;
        out.display(self.conversions);
        out.display(self.value);
        out.display(self.nulls);
        Ok(())
    }
}

/// Columns of `forecasts.csv`.
#[derive(Debug, Clone)]
pub struct ForecastColumns {
    series: usize,
    period: usize,
    forecast: usize,
    actual: usize,
}

impl Schema for ForecastPoint {
    const KIND: &'static str = "forecast";
    type Columns = ForecastColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        Ok(ForecastColumns {
            series: h.required("series")?,
            period: h.required("period")?,
            forecast: h.required("forecast")?,
            actual: h.required("actual")?,
        })
    }

    fn free_text(c: &Self::Columns, i: usize) -> bool {
        none_of(
            i,
            &[
                Some(c.series),
                Some(c.period),
                Some(c.forecast),
                Some(c.actual),
            ],
        )
    }

    fn decode<W: RowFields>(c: &Self::Columns, row: &W, _: &mut Ctx) -> Result<Self, RowError> {
        let p = ForecastPoint {
            series: key(field(row, c.series), "series")?,
            period: key(field(row, c.period), "period")?,
            forecast: float(field(row, c.forecast), "forecast")?,
            actual: opt_float(field(row, c.actual), "actual")?,
        };
        validated(p.validate(), &[])?;
        Ok(p)
    }

    fn encode(&self, _: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        out.key(&self.series, "series")?;
        out.key(&self.period, "period")?;
        out.display(self.forecast);
        out.opt_display(self.actual);
        Ok(())
    }
}

/// The fixed columns of `leads.csv`; every other column is an attribute.
pub const LEAD_COLUMNS: &[&str] = &[
    "subject_id",
    "created_at",
    "source",
    "campaign",
    "account",
    "owner",
    "segment",
];

/// Columns of `leads.csv`.
#[derive(Debug, Clone)]
pub struct LeadColumns {
    pub(super) id: usize,
    pub(super) created_at: usize,
    pub(super) source: usize,
    pub(super) campaign: Option<usize>,
    pub(super) account: Option<usize>,
    pub(super) owner: Option<usize>,
    pub(super) segment: Option<usize>,
    pub(super) attributes: Vec<(usize, String)>,
}

/// Sorts and de-duplicates attribute column names and checks that they read back as
/// the same attributes.
pub fn attribute_columns(names: impl IntoIterator<Item = String>) -> crate::Result<Vec<String>> {
    let names: BTreeSet<String> = names.into_iter().collect();
    let mut seen = HashSet::with_capacity(names.len());
    let invalid = |name: &str, reason: &str| {
        Error::from(ErrorKind::InvalidParameter {
            name: "attributes",
            value: format!("{name:?}"),
            reason: reason.to_string(),
        })
    };
    for name in &names {
        let normal = name.to_lowercase();
        if name.trim().is_empty() || name.trim() != name {
            return Err(invalid(name, "empty, or with surrounding whitespace"));
        }
        if name.contains(['\r', '\n']) {
            return Err(invalid(name, "a column name cannot span lines"));
        }
        if LEAD_COLUMNS.contains(&normal.as_str()) {
            return Err(invalid(name, "the name of a fixed column of leads.csv"));
        }
        if !seen.insert(normal) {
            return Err(invalid(
                name,
                "differs from another name only in case (header names are case-insensitive)",
            ));
        }
    }
    Ok(names.into_iter().collect())
}

impl Schema for Lead {
    const KIND: &'static str = "lead";
    type Columns = LeadColumns;

    fn resolve(h: &Header) -> Result<Self::Columns, RowError> {
        let mut attributes = Vec::new();
        for (i, normal, original) in h.columns() {
            if LEAD_COLUMNS.contains(&normal) {
                continue;
            }
            if original.is_empty() {
                return Err(RowError::row(format!(
                    "header column {} has no name (every extra column of leads.csv is an attribute)",
                    i + 1
                )));
            }
            attributes.push((i, original.to_string()));
        }
        Ok(LeadColumns {
            id: h.required("subject_id")?,
            created_at: h.required("created_at")?,
            source: h.required("source")?,
            campaign: h.optional("campaign"),
            account: h.optional("account"),
            owner: h.optional("owner"),
            segment: h.optional("segment"),
            attributes,
        })
    }

    fn free_text(c: &Self::Columns, i: usize) -> bool {
        none_of(
            i,
            &[
                Some(c.id),
                Some(c.created_at),
                Some(c.source),
                c.campaign,
                c.account,
            ],
        )
    }

    fn decode<W: RowFields>(c: &Self::Columns, row: &W, ctx: &mut Ctx) -> Result<Self, RowError> {
        let mut lead = Lead::new(
            id::<LeadId>(field(row, c.id), "subject_id")?,
            timestamp(field(row, c.created_at), "created_at")?,
        );
        lead.source = ctx.opt_channel(field(row, c.source), "source")?;
        lead.campaign = ctx.opt_campaign(opt_field(row, c.campaign), "campaign")?;
        lead.account = opt_id::<AccountId>(opt_field(row, c.account), "account")?;
        lead.owner = opt_text(opt_field(row, c.owner), "owner")?;
        lead.segment = opt_text(opt_field(row, c.segment), "segment")?;
        for (i, name) in &c.attributes {
            if let Some(value) = opt_text(field(row, *i), name)? {
                lead.attributes.insert(name.clone(), value);
            }
        }
        validated(lead.validate(), &[])?;
        Ok(lead)
    }

    fn extra_columns(records: &[Self]) -> crate::Result<Vec<String>> {
        let names: BTreeSet<&String> = records.iter().flat_map(|l| l.attributes.keys()).collect();
        attribute_columns(names.into_iter().cloned())
    }

    fn encode(&self, extra: &[String], out: &mut Fields) -> Result<(), EncodeError> {
        if let Some(name) = self
            .attributes
            .keys()
            .find(|k| extra.binary_search(k).is_err())
        {
            return Err(EncodeError {
                field: "attributes",
                reason: format!(
                    "attribute `{}` has no column: declare it when creating the writer",
                    Excerpt(name)
                ),
            });
        }
        out.key(self.id.as_str(), "id")?;
        out.timestamp(&self.created_at, "created_at")?;
        out.opt_key(self.source.as_ref().map(Channel::as_str), "source")?;
        out.opt_key(self.campaign.as_ref().map(CampaignId::as_str), "campaign")?;
        out.opt_key(self.account.as_ref().map(AccountId::as_str), "account")?;
        out.opt_text(self.owner.as_deref());
        out.opt_text(self.segment.as_deref());
        for name in extra {
            out.opt_text(self.attributes.get(name).map(String::as_str));
        }
        Ok(())
    }
}
