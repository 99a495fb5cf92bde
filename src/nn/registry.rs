//! The registry of layer kinds: each kind's configuration, tagged as Keras tags its layer
//! configurations (`{"class_name": "Dense", "config": {...}}`), and how it becomes a layer.
//! A new layer kind is its own file plus one line here.

use serde::{Deserialize, Serialize};

use super::{BatchNormalizationConfig, DenseConfig, DropoutConfig, FlattenConfig, Layer, ReshapeConfig};

macro_rules! layer_kinds {
    ($($(#[$doc:meta])* $kind:ident($config:ty)),* $(,)?) => {
        /// One layer of a model as data: what model files, checkpoints, import and export
        /// read and write, and what every front end builds models from.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "class_name", content = "config")]
        pub enum LayerConfig {
            $($(#[$doc])* $kind($config),)*
        }

        impl LayerConfig {
            /// The layer this configuration describes (parameters not yet created).
            pub fn into_layer(self) -> Box<dyn Layer> {
                match self {
                    $(LayerConfig::$kind(c) => Box::new(c.into_layer()),)*
                }
            }

            /// Keras' class name.
            pub fn class_name(&self) -> &'static str {
                match self {
                    $(LayerConfig::$kind(_) => stringify!($kind),)*
                }
            }

            /// The name of a layer with this configuration, when it has one.
            pub fn name(&self) -> Option<&str> {
                match self {
                    $(LayerConfig::$kind(c) => c.name.as_deref(),)*
                }
            }
        }
    };
}

layer_kinds! {
    /// A fully connected layer.
    Dense(DenseConfig),
    /// Inverted dropout while training, the identity at inference.
    Dropout(DropoutConfig),
    /// Batch normalisation over the last axis.
    BatchNormalization(BatchNormalizationConfig),
    /// Each example's values as one row.
    Flatten(FlattenConfig),
    /// Each example's values in another shape.
    Reshape(ReshapeConfig),
}
