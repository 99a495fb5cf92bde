//! The registry of layer kinds: each kind's configuration, tagged as Keras tags its layer
//! configurations (`{"class_name": "Dense", "config": {...}}`), and how it becomes a layer.
//! A new layer kind is its own file plus one line here.

use serde::{Deserialize, Serialize};

use super::{
    AveragePooling2D, BatchNormalizationConfig, Conv2DConfig, DenseConfig, DropoutConfig, FlattenConfig,
    GlobalAveragePooling2DConfig, Layer, MaxPooling2D, PoolingConfig, ReshapeConfig,
};

macro_rules! layer_kinds {
    ($($(#[$doc:meta])* $kind:ident($config:ty) => $make:path),* $(,)?) => {
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
                    $(LayerConfig::$kind(c) => Box::new($make(c)),)*
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
    Dense(DenseConfig) => DenseConfig::into_layer,
    /// Inverted dropout while training, the identity at inference.
    Dropout(DropoutConfig) => DropoutConfig::into_layer,
    /// Batch normalisation over the last axis.
    BatchNormalization(BatchNormalizationConfig) => BatchNormalizationConfig::into_layer,
    /// Each example's values as one row.
    Flatten(FlattenConfig) => FlattenConfig::into_layer,
    /// Each example's values in another shape.
    Reshape(ReshapeConfig) => ReshapeConfig::into_layer,
    /// A 2-D convolution over images, channels last.
    Conv2D(Conv2DConfig) => Conv2DConfig::into_layer,
    /// The largest value of each window, per channel.
    MaxPooling2D(PoolingConfig) => MaxPooling2D::from_config,
    /// The mean of each window, per channel.
    AveragePooling2D(PoolingConfig) => AveragePooling2D::from_config,
    /// The mean of each channel over the whole image.
    GlobalAveragePooling2D(GlobalAveragePooling2DConfig) => GlobalAveragePooling2DConfig::into_layer,
}

impl LayerConfig {
    /// Whether the layer reads images `(height, width, channels)`: a model that starts with
    /// one takes its data as pictures, not flat rows.
    pub fn takes_images(&self) -> bool {
        matches!(
            self,
            LayerConfig::Conv2D(_)
                | LayerConfig::MaxPooling2D(_)
                | LayerConfig::AveragePooling2D(_)
                | LayerConfig::GlobalAveragePooling2D(_)
        )
    }
}
