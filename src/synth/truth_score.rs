//! The synthetic company's known per-channel effect, as channel conversions to score
//! attribution models against (the adapter implements the core's trait; the core
//! names no adapter type).

use super::Truth;
use crate::attribution::ChannelConversions;
use crate::ids::Channel;

impl ChannelConversions for Truth {
    /// The synthetic generator's counterfactual effect per channel:
    /// [`crate::synth::ChannelTruth::incremental_conversions`].
    fn channel_conversions(&self) -> Vec<(Channel, f64)> {
        self.channels
            .iter()
            .map(|c| (c.channel.clone(), c.incremental_conversions))
            .collect()
    }
}
