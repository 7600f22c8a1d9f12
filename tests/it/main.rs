//! revops integration tests: one binary, one module per area.

#[cfg(feature = "parquet")]
mod arrow;
mod attribution;
mod attribution_markov;
mod attribution_stream;
#[cfg(feature = "synth")]
mod attribution_truth;
mod contract;
mod cost;
#[cfg(feature = "csv")]
mod csv;
mod distribution;
#[cfg(all(feature = "synth", feature = "csv"))]
mod examples;
mod fixtures;
mod forecast;
mod funnel;
#[cfg(all(feature = "parquet", feature = "synth"))]
mod funnel_parquet;
#[cfg(feature = "synth")]
mod lookups;
mod money;
mod period;
mod pipeline;
mod pipeline_breakdown;
mod plan;
mod ramp;
mod ratio;
#[cfg(feature = "csv")]
mod read_funnel;
mod read_paths;
#[cfg(feature = "csv")]
mod real;
mod records;
#[cfg(all(feature = "synth", feature = "csv"))]
mod report;
#[cfg(feature = "synth")]
mod synth;
