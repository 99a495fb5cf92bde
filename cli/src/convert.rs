//! `neurite export` and `neurite import`: a model to and from ONNX, PyTorch and NumPy.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::model::ModelArgs;
use crate::paths;
use neurite::error::{Error, Result};
use neurite::io::{self, npy, onnx, torch, Activations};
use neurite::nn::Activation;

/// Flags of `neurite export`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    /// Write an ONNX model (opset 17, dynamic batch) that ONNX Runtime runs.
    #[arg(long, value_name = "PATH")]
    pub(crate) onnx: Option<PathBuf>,
    /// Write a state_dict that the printed torch.nn.Sequential's load_state_dict takes: safetensors,
    /// or torch.save's zip for a path ending in .pt or .pth.
    #[arg(long, value_name = "PATH")]
    pub(crate) pytorch: Option<PathBuf>,
    /// Write the arrays W1, b1, W2, b2, ... (W of shape (inputs, outputs)) as a NumPy .npz.
    #[arg(long, value_name = "PATH")]
    pub(crate) npz: Option<PathBuf>,
    /// Print one JSON object and nothing else on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Flags of `neurite import`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ImportArgs {
    /// The foreign model: ONNX, a PyTorch state_dict (.pt/.pth from torch.save, or
    /// safetensors), or a NumPy .npz of W1, b1, W2, b2, ...
    #[arg(value_name = "IN")]
    pub(crate) input: PathBuf,
    /// Where to write neurite's model file.
    #[arg(long, value_name = "PATH")]
    pub(crate) out: PathBuf,
    /// Activation of the hidden layers, for files that do not record it (.npz, state_dicts).
    #[arg(long)]
    pub(crate) activation: Option<Activation>,
    /// Activation of the output layer, for files that do not record it.
    #[arg(long, alias = "output-activation")]
    pub(crate) output: Option<Activation>,
    /// The architecture of a PyTorch state_dict that does not record it (a convnet saved by
    /// torch.save), as train's --layers: "conv:8:3:relu,maxpool:2,flatten,dense:10". The
    /// state_dict's tensors are taken in module order (Conv2d weights out x in x kH x kW, the
    /// first Linear after a Flatten in PyTorch's channels-first order).
    #[arg(long, value_name = "SPEC", requires = "input_shape")]
    pub(crate) layers: Option<String>,
    /// The input shape of --layers, e.g. 28,28,1 (height, width, channels).
    #[arg(long, value_name = "H,W,C")]
    pub(crate) input_shape: Option<String>,
    /// Print one JSON object and nothing else on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs `neurite export`.
pub(crate) fn run_export(args: &ExportArgs) -> Result<()> {
    if args.onnx.is_none() && args.pytorch.is_none() && args.npz.is_none() {
        return Err(Error::Value("export: say where: --onnx PATH, --pytorch PATH and/or --npz PATH".into()));
    }
    // Every path is checked before the model is read: none may be the model itself, a
    // directory, or another of the outputs (the second write would replace the first).
    let model_path = args.model.path()?;
    let model_is = if args.model.model.is_some() { "the model of --model" } else { "the model of --weights" };
    let outputs = [
        ("--onnx", "the file of --onnx", &args.onnx),
        ("--pytorch", "the file of --pytorch", &args.pytorch),
        ("--npz", "the file of --npz", &args.npz),
    ];
    let mut inputs: Vec<(&str, &std::path::Path)> = vec![(model_is, model_path.as_path())];
    for (flag, is, path) in outputs {
        if let Some(path) = path {
            paths::check_output(flag, path, &inputs)?;
            inputs.push((is, path));
        }
    }
    let model = args.model.load()?;
    let mut written = serde_json::Map::new();
    let mut lines = Vec::new();
    if let Some(path) = &args.onnx {
        onnx::save_onnx(&model, path)?;
        lines.push(format!("wrote ONNX (opset {}) to {}", onnx::OPSET, path.display()));
        written.insert("onnx".into(), json!(path.display().to_string()));
    }
    if let Some(path) = &args.pytorch {
        torch::save_state_dict(&model, path)?;
        let modules = torch::torch_modules(&model)?;
        lines.push(format!("wrote a PyTorch state_dict to {} for {modules}", path.display()));
        written.insert("pytorch".into(), json!(path.display().to_string()));
        written.insert("torch_modules".into(), json!(modules));
    }
    if let Some(path) = &args.npz {
        npy::save_npz(path, &io::model_to_arrays(&model)?)?;
        lines.push(format!("wrote the arrays W1, b1, ... to {}", path.display()));
        written.insert("npz".into(), json!(path.display().to_string()));
    }
    if args.json {
        println!("{}", serde_json::Value::Object(written));
    } else {
        for l in lines {
            println!("{l}");
        }
    }
    Ok(())
}

/// Runs `neurite import`.
pub(crate) fn run_import(args: &ImportArgs) -> Result<()> {
    paths::check_output("--out", &args.out, &[("the file being imported", &args.input)])?;
    let bytes = std::fs::read(&args.input).map_err(|e| Error::io(&args.input, e))?;
    let format = io::Format::detect(&bytes).map_err(|e| in_file(&args.input, e))?;
    // Its folder, where an ONNX model's external data (`model.onnx.data`) is.
    let dir = args.input.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let model = match &args.layers {
        Some(spec) => state_dict_for(&bytes, format, spec, args.input_shape.as_deref().unwrap_or_default()),
        None => io::read_model_in(&bytes, Activations { hidden: args.activation, output: args.output }, dir),
    }
    .map_err(|e| in_file(&args.input, e))?;
    io::save_model(&model, &args.out)?;
    if args.json {
        let out = json!({
            "input": args.input.display().to_string(),
            "format": format!("{format:?}"),
            "out": args.out.display().to_string(),
            "architecture": model.config(),
            "parameters": model.param_count(),
        });
        println!("{out}");
    } else {
        println!("{}", crate::show::block(&model.summary()));
        println!("imported {} ({format:?}) into {}", args.input.display(), args.out.display());
    }
    Ok(())
}

/// A PyTorch state_dict read onto the architecture of `--layers` and `--input-shape`.
fn state_dict_for(bytes: &[u8], format: io::Format, spec: &str, shape: &str) -> Result<neurite::train::Sequential> {
    if !matches!(format, io::Format::TorchPt | io::Format::TorchSafetensors) {
        return Err(Error::Value(format!(
            "--layers describes a PyTorch state_dict's architecture; this file is {format:?}"
        )));
    }
    let input = shape
        .split(',')
        .map(|d| d.trim().parse::<usize>().ok().filter(|&d| d > 0))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| Error::Value(format!("--input-shape {shape:?}: give sizes such as 28,28,1")))?;
    let config = neurite::train::ModelConfig::parse_layers(&input, spec, neurite::nn::Initializer::GlorotUniform)?;
    torch::model_from_state_dict_for(&config, &torch::read_state_dict(bytes)?)
}

fn in_file(path: &std::path::Path, e: Error) -> Error {
    match e {
        Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
        Error::Value(m) => Error::Value(format!("{}: {m}", path.display())),
        other => other,
    }
}
