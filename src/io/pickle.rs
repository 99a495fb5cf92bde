//! The smallest pickle machine that reads a PyTorch state_dict, and nothing else.
//!
//! `torch.save(model.state_dict(), path)` pickles an `OrderedDict` of tensors, each rebuilt
//! by `torch._utils._rebuild_tensor_v2` from a storage that the pickle names by a persistent
//! id and the zip archive holds as raw bytes. A general unpickler would import and call
//! whatever the file names; this one knows about a fixed list of globals
//! (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
//! `torch._utils._rebuild_parameter` and the float storage types) and never calls anything:
//! it records what they would build. Any other global or opcode is an error that names it.
//! That is the promise of PyTorch's `torch.load(..., weights_only=True)`.
//!
//! The same machine reads the other pickle a learner is handed: the book behind note 001
//! ships its network as `sample_weight.pkl`, `pickle.dump` of a dict of NumPy arrays
//! (`W1, b1, ...`). [`numpy_arrays`] reads that with a second, separate allow-list of exactly
//! what a pickled `ndarray` names: `numpy.core.multiarray._reconstruct` (or its NumPy 2
//! spelling `numpy._core.multiarray._reconstruct`), `numpy.ndarray` and `numpy.dtype`; and
//! with protocol 5 (Python 3.8's `pickle.dump(..., protocol=5)`, Python 3.14's default),
//! where NumPy pickles a contiguous array as `numpy.core.numeric._frombuffer(buffer, dtype,
//! shape, order)` (or `numpy._core.numeric._frombuffer`), that one callable too, its buffer
//! in the file (in-band: BYTEARRAY8 or bytes; an out-of-band buffer is not in the file and
//! is refused). None is called: the machine records the array's shape, dtype, order and the
//! bytes of its data (a slice of the file), and `npy.rs` turns them into a tensor after
//! checking that the bytes are exactly what the shape and dtype need.
//!
//! Every value lives in one arena and the stack, the memo and the containers hold indices
//! into it, so memory grows with the number of opcodes read (each at least one byte of the
//! file), never faster: a memo reference copies an index, not a value, and a string of bytes
//! is a range of the file.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// The element types of the storages a state_dict of float tensors uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StorageType {
    /// `torch.FloatStorage`.
    F32,
    /// `torch.DoubleStorage`.
    F64,
    /// `torch.HalfStorage`.
    F16,
    /// `torch.BFloat16Storage`.
    BF16,
    /// `torch.LongStorage`: a batch normalisation's `num_batches_tracked` (read as f32, exact
    /// below 2^24).
    I64,
}

impl StorageType {
    /// Bytes per element.
    pub(crate) fn size(self) -> usize {
        match self {
            StorageType::F32 => 4,
            StorageType::F64 | StorageType::I64 => 8,
            StorageType::F16 | StorageType::BF16 => 2,
        }
    }
}

/// One tensor of a state_dict, as the pickle describes it: a strided view of a storage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TensorRef {
    /// Its key in the state_dict (`0.weight`).
    pub name: String,
    /// The storage's element type.
    pub dtype: StorageType,
    /// The storage's file in the archive (`data/<key>`).
    pub storage: String,
    /// The storage's number of elements.
    pub storage_numel: u64,
    /// Offset of the first element, in elements.
    pub offset: u64,
    /// The tensor's shape.
    pub size: Vec<u64>,
    /// Its strides, in elements.
    pub stride: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    Storage(StorageType),
    /// `numpy.core.multiarray._reconstruct`: an empty array that BUILD then fills.
    Reconstruct,
    /// `numpy.ndarray`, the class `_reconstruct` is given.
    NdArray,
    /// `numpy.dtype`.
    Dtype,
    /// `numpy.core.numeric._frombuffer(buffer, dtype, shape, order)`: protocol 5's array.
    FromBuffer,
}

/// Which allow-list a machine reads with: a PyTorch state_dict's or a dict of NumPy arrays'.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Allowed {
    Torch,
    NumPy,
}

#[derive(Debug)]
enum Node {
    None,
    Bool(bool),
    Int(i64),
    Float,
    Str(String),
    /// A string of bytes: where it lies in the pickle.
    Bytes {
        at: usize,
        len: usize,
    },
    /// A `numpy.dtype`: its kind (`f4`) and, once built, its byte order (`<`).
    Dtype {
        kind: String,
        order: Option<char>,
    },
    /// A `numpy.ndarray`: empty from `_reconstruct`, then its shape, dtype, order and data.
    Array(Option<ArrayState>),
    Tuple(Vec<usize>),
    List(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    Global(Global),
    Storage {
        dtype: StorageType,
        key: String,
        numel: u64,
    },
    Tensor {
        storage: usize,
        offset: u64,
        size: Vec<u64>,
        stride: Vec<u64>,
    },
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Node::None => "None",
            Node::Bool(_) => "a bool",
            Node::Bytes { .. } => "bytes",
            Node::Dtype { .. } => "a NumPy dtype",
            Node::Array(_) => "a NumPy array",
            Node::Int(_) => "an int",
            Node::Float => "a float",
            Node::Str(_) => "a string",
            Node::Tuple(_) => "a tuple",
            Node::List(_) => "a list",
            Node::Dict(_) => "a dict",
            Node::Global(_) => "a class or function",
            Node::Storage { .. } => "a storage",
            Node::Tensor { .. } => "a tensor",
        }
    }
}

/// What BUILD gives a pickled `ndarray`: `(version, shape, dtype, is_fortran, data)`.
#[derive(Debug, Clone)]
struct ArrayState {
    shape: Vec<u64>,
    dtype: usize,
    fortran: bool,
    data: (usize, usize),
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Format(format!("PyTorch pickle: {what}"))
}

fn bad_numpy(what: impl std::fmt::Display) -> Error {
    Error::Format(format!("pickle of NumPy arrays: {what}"))
}

struct Machine<'a> {
    allowed: Allowed,
    data: &'a [u8],
    at: usize,
    nodes: Vec<Node>,
    stack: Vec<usize>,
    marks: Vec<usize>,
    memo: HashMap<u32, usize>,
}

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len()).ok_or_else(|| {
            bad(format!("truncated: {n} bytes wanted at byte {}, {} left", self.at, self.data.len() - self.at))
        })?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.data[self.at..];
        let n = rest.iter().position(|&c| c == b'\n').ok_or_else(|| bad("a GLOBAL name has no end of line"))?;
        let s = std::str::from_utf8(&rest[..n]).map_err(|_| bad("a GLOBAL name is not text"))?;
        self.at += n + 1;
        Ok(s)
    }

    fn push(&mut self, node: Node) {
        self.nodes.push(node);
        self.stack.push(self.nodes.len() - 1);
    }

    fn pop(&mut self) -> Result<usize> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err(bad("an opcode pops past a MARK"));
        }
        self.stack.pop().ok_or_else(|| bad("the stack is empty"))
    }

    fn top(&self) -> Result<usize> {
        self.stack.last().copied().ok_or_else(|| bad("the stack is empty"))
    }

    fn pop_mark(&mut self) -> Result<Vec<usize>> {
        let m = self.marks.pop().ok_or_else(|| bad("no MARK to pop to"))?;
        Ok(self.stack.split_off(m))
    }

    fn string(&mut self, n: usize) -> Result<()> {
        let s = std::str::from_utf8(self.take(n)?).map_err(|_| bad("a string is not UTF-8"))?;
        self.push(Node::Str(s.to_string()));
        Ok(())
    }

    /// `n` bytes of the pickle as a bytes node (no copy).
    fn bytes(&mut self, n: usize) -> Result<()> {
        let at = self.at;
        self.take(n)?;
        self.push(Node::Bytes { at, len: n });
        Ok(())
    }

    fn global(&mut self, module: &str, name: &str) -> Result<()> {
        if self.allowed == Allowed::NumPy {
            let g = match (module, name) {
                ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => Global::Reconstruct,
                ("numpy", "ndarray") => Global::NdArray,
                ("numpy", "dtype") => Global::Dtype,
                ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer") => Global::FromBuffer,
                _ => {
                    return Err(bad_numpy(format!(
                        "refuses the global {module}.{name}: a dict of NumPy arrays needs only numpy.core.multiarray._reconstruct, \
                         numpy.ndarray, numpy.dtype and (protocol 5) numpy.core.numeric._frombuffer, and neurite never runs \
                         code from a file (pickle.dump with protocol 3, 4 or 5 writes only those; or save the arrays with np.savez)"
                    )))
                }
            };
            self.push(Node::Global(g));
            return Ok(());
        }
        let g = match (module, name) {
            ("collections", "OrderedDict") => Global::OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
            ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
            ("torch", "FloatStorage") => Global::Storage(StorageType::F32),
            ("torch", "DoubleStorage") => Global::Storage(StorageType::F64),
            ("torch", "HalfStorage") => Global::Storage(StorageType::F16),
            ("torch", "BFloat16Storage") => Global::Storage(StorageType::BF16),
            ("torch", "LongStorage") => Global::Storage(StorageType::I64),
            ("torch", s) if s.ends_with("Storage") => {
                return Err(bad(format!(
                    "a torch.{s} holds no floating-point numbers; neurite reads float32, float64, float16 and bfloat16 tensors"
                )))
            }
            _ => {
                return Err(bad(format!(
                    "refuses the global {module}.{name}: a state_dict of float tensors needs only collections.OrderedDict, \
                     torch._utils._rebuild_tensor_v2 and the float storage types, and neurite never runs code from a file"
                )))
            }
        };
        self.push(Node::Global(g));
        Ok(())
    }

    fn int(&self, id: usize, what: &str) -> Result<u64> {
        match self.nodes[id] {
            Node::Int(v) if v >= 0 => Ok(v as u64),
            Node::Int(v) => Err(bad(format!("{what} is negative ({v})"))),
            ref n => Err(bad(format!("{what} is {}, not an int", n.kind()))),
        }
    }

    fn ints(&self, id: usize, what: &str) -> Result<Vec<u64>> {
        match &self.nodes[id] {
            Node::Tuple(items) => items.iter().map(|&i| self.int(i, what)).collect(),
            n => Err(bad(format!("{what} is {}, not a tuple", n.kind()))),
        }
    }

    fn reduce(&mut self) -> Result<()> {
        let args = self.pop()?;
        let callable = self.pop()?;
        let Node::Tuple(args) = &self.nodes[args] else {
            return Err(bad(format!("REDUCE with arguments that are {}", self.nodes[args].kind())));
        };
        let args = args.clone();
        let node = match self.nodes[callable] {
            Node::Global(Global::OrderedDict) if args.is_empty() => Node::Dict(Vec::new()),
            Node::Global(Global::OrderedDict) => return Err(bad("OrderedDict is called with arguments")),
            Node::Global(Global::RebuildTensorV2) => {
                if !(6..=7).contains(&args.len()) {
                    return Err(bad(format!("_rebuild_tensor_v2 takes 6 or 7 arguments, got {}", args.len())));
                }
                if !matches!(self.nodes[args[0]], Node::Storage { .. }) {
                    return Err(bad(format!("a tensor is rebuilt from {}, not a storage", self.nodes[args[0]].kind())));
                }
                let offset = self.int(args[1], "a storage offset")?;
                let size = self.ints(args[2], "a tensor size")?;
                let stride = self.ints(args[3], "a tensor stride")?;
                if size.len() != stride.len() {
                    return Err(bad(format!("a tensor of {} dimensions has {} strides", size.len(), stride.len())));
                }
                Node::Tensor { storage: args[0], offset, size, stride }
            }
            Node::Global(Global::RebuildParameter) => {
                let data = *args.first().ok_or_else(|| bad("_rebuild_parameter without arguments"))?;
                match &self.nodes[data] {
                    Node::Tensor { storage, offset, size, stride } => {
                        Node::Tensor { storage: *storage, offset: *offset, size: size.clone(), stride: stride.clone() }
                    }
                    n => return Err(bad(format!("a parameter is rebuilt from {}", n.kind()))),
                }
            }
            Node::Global(Global::Reconstruct) => {
                // _reconstruct(numpy.ndarray, (0,), b'b'): an empty array of the class.
                match args.as_slice() {
                    [class, _, _] if matches!(self.nodes[*class], Node::Global(Global::NdArray)) => Node::Array(None),
                    _ => return Err(bad_numpy("_reconstruct is not given numpy.ndarray")),
                }
            }
            Node::Global(Global::FromBuffer) => self.frombuffer_array(&args)?,
            Node::Global(Global::Dtype) => {
                // dtype('f4', False, True); the byte order comes with BUILD.
                let kind =
                    args.first().and_then(|&a| self.text(a)).ok_or_else(|| bad_numpy("a dtype without a name"))?;
                Node::Dtype { kind, order: None }
            }
            ref n => return Err(bad(format!("REDUCE calls {}, which neurite does not call", n.kind()))),
        };
        self.push(node);
        Ok(())
    }

    /// `_frombuffer(buffer, dtype, shape, order)`, as NumPy's protocol-5 `__reduce_ex__`
    /// writes a C- or Fortran-contiguous array: the array it would make, recorded (its bytes
    /// are checked against its shape and dtype when it becomes a tensor, before anything is
    /// allocated for it).
    fn frombuffer_array(&self, args: &[usize]) -> Result<Node> {
        let [buffer, dtype, shape, order] = args else {
            return Err(bad_numpy(format!(
                "_frombuffer takes 4 arguments (buffer, dtype, shape, order), got {}",
                args.len()
            )));
        };
        let Node::Bytes { at, len } = self.nodes[*buffer] else {
            return Err(bad_numpy(format!(
                "_frombuffer is given {}, not the array's bytes",
                self.nodes[*buffer].kind()
            )));
        };
        if !matches!(self.nodes[*dtype], Node::Dtype { .. }) {
            return Err(bad_numpy(format!("_frombuffer's dtype is {}", self.nodes[*dtype].kind())));
        }
        let shape = self.ints(*shape, "an array's shape").map_err(|e| bad_numpy(e.to_string()))?;
        let fortran = match self.text(*order).as_deref() {
            Some("C") => false,
            Some("F") => true,
            Some(o) => return Err(bad_numpy(format!("_frombuffer's order is {o:?}, not 'C' or 'F'"))),
            None => return Err(bad_numpy(format!("_frombuffer's order is {}", self.nodes[*order].kind()))),
        };
        Ok(Node::Array(Some(ArrayState { shape, dtype: *dtype, fortran, data: (at, len) })))
    }

    /// A string or (Python 2's str) UTF-8 bytes, as text.
    fn text(&self, id: usize) -> Option<String> {
        match &self.nodes[id] {
            Node::Str(s) => Some(s.clone()),
            Node::Bytes { at, len } => std::str::from_utf8(&self.data[*at..*at + *len]).ok().map(str::to_string),
            _ => None,
        }
    }

    /// BUILD on a NumPy dtype (`(3, '<', None, None, None, -1, -1, 0)`) or array
    /// (`(1, shape, dtype, is_fortran, data)`): records the state it sets.
    fn build_numpy(&mut self, target: usize, state: usize) -> Result<()> {
        let Node::Tuple(items) = &self.nodes[state] else {
            return Err(bad_numpy(format!("BUILD with {}, not a tuple", self.nodes[state].kind())));
        };
        let items = items.clone();
        match self.nodes[target] {
            Node::Dtype { .. } => {
                let order = items.get(1).and_then(|&o| self.text(o)).and_then(|o| o.chars().next());
                if let Node::Dtype { order: slot, .. } = &mut self.nodes[target] {
                    *slot = order;
                }
            }
            Node::Array(_) => {
                let [_, shape, dtype, fortran, data] = items.as_slice() else {
                    return Err(bad_numpy(format!("an array's state has {} items, not 5", items.len())));
                };
                let shape = self.ints(*shape, "an array's shape").map_err(|e| bad_numpy(e.to_string()))?;
                if !matches!(self.nodes[*dtype], Node::Dtype { .. }) {
                    return Err(bad_numpy(format!("an array's dtype is {}", self.nodes[*dtype].kind())));
                }
                let Node::Bool(fortran) = self.nodes[*fortran] else {
                    return Err(bad_numpy("an array's is_fortran is not a bool"));
                };
                let Node::Bytes { at, len } = self.nodes[*data] else {
                    return Err(bad_numpy(format!(
                        "an array's data is {}, not bytes (an array of Python objects?)",
                        self.nodes[*data].kind()
                    )));
                };
                self.nodes[target] = Node::Array(Some(ArrayState { shape, dtype: *dtype, fortran, data: (at, len) }));
            }
            ref n => return Err(bad_numpy(format!("BUILD on {}", n.kind()))),
        }
        Ok(())
    }

    fn persistent(&mut self) -> Result<()> {
        let pid = self.pop()?;
        let Node::Tuple(items) = &self.nodes[pid] else {
            return Err(bad(format!("a persistent id is {}, not a tuple", self.nodes[pid].kind())));
        };
        let storage_type = match items.as_slice() {
            [tag, ty, key, _location, numel] => match (&self.nodes[*tag], &self.nodes[*ty], &self.nodes[*key]) {
                (Node::Str(t), Node::Global(Global::Storage(ty)), Node::Str(k)) if t == "storage" => {
                    Some((*ty, k.clone(), *numel))
                }
                _ => None,
            },
            _ => None,
        };
        let (dtype, key, numel) = storage_type
            .ok_or_else(|| bad("a persistent id is not ('storage', <float storage type>, key, location, size)"))?;
        let numel = self.int(numel, "a storage size")?;
        self.push(Node::Storage { dtype, key, numel });
        Ok(())
    }

    fn set_items(&mut self, pairs: Vec<usize>) -> Result<()> {
        if !pairs.len().is_multiple_of(2) {
            return Err(bad("SETITEMS with an odd number of items"));
        }
        let target = self.top()?;
        match &mut self.nodes[target] {
            Node::Dict(entries) => {
                entries.extend(pairs.chunks_exact(2).map(|p| (p[0], p[1])));
                Ok(())
            }
            n => Err(bad(format!("SETITEM on {}", n.kind()))),
        }
    }

    fn append(&mut self, items: Vec<usize>) -> Result<()> {
        let target = self.top()?;
        match &mut self.nodes[target] {
            Node::List(list) => {
                list.extend(items);
                Ok(())
            }
            n => Err(bad(format!("APPEND on {}", n.kind()))),
        }
    }

    fn run(&mut self) -> Result<usize> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    let v = self.u8()?;
                    if v > 5 {
                        return Err(bad(format!("protocol {v} is unknown")));
                    }
                }
                0x95 => {
                    self.take(8)?; // FRAME: a length hint
                }
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'}' => self.push(Node::Dict(Vec::new())),
                b']' => self.push(Node::List(Vec::new())),
                b')' => self.push(Node::Tuple(Vec::new())),
                b'N' => self.push(Node::None),
                0x88 => self.push(Node::Bool(true)),
                0x89 => self.push(Node::Bool(false)),
                // Bytes: SHORT_BINBYTES, BINBYTES, BINBYTES8 (protocols 3 and 4), and
                // Python 2's str, SHORT_BINSTRING and BINSTRING.
                b'C' | b'U' => {
                    let n = usize::from(self.u8()?);
                    self.bytes(n)?
                }
                b'B' | b'T' => {
                    let n = self.u32()? as usize;
                    self.bytes(n)?
                }
                0x8e => {
                    let b = self.take(8)?;
                    let n = u64::from_le_bytes(b.try_into().unwrap_or([0xff; 8]));
                    self.bytes(usize::try_from(n).unwrap_or(usize::MAX))?
                }
                // BYTEARRAY8 (protocol 5): an in-band PickleBuffer, the data of a writable
                // NumPy array that `_frombuffer` is given. Read as bytes (nothing mutates it).
                0x96 if self.allowed == Allowed::NumPy => {
                    let b = self.take(8)?;
                    let n = u64::from_le_bytes(b.try_into().unwrap_or([0xff; 8]));
                    self.bytes(usize::try_from(n).unwrap_or(usize::MAX))?
                }
                // NEXT_BUFFER, READONLY_BUFFER: a buffer handed to pickle.load out of band.
                0x97 | 0x98 if self.allowed == Allowed::NumPy => {
                    return Err(bad_numpy(
                        "an array's data is an out-of-band buffer (pickle.dump with a buffer_callback), which is not in the \
                         file: pickle the arrays without buffer_callback, or save them with np.savez",
                    ))
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Node::Int(i64::from(v)))
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Node::Int(i64::from(v)))
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Node::Int(i64::from(v)))
                }
                0x8a => {
                    let n = usize::from(self.u8()?);
                    if n > 8 {
                        return Err(bad(format!("a {n}-byte integer is too large")));
                    }
                    let b = self.take(n)?;
                    let mut v: i64 = 0;
                    for (i, &byte) in b.iter().enumerate() {
                        v |= i64::from(byte) << (8 * i);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.push(Node::Int(v))
                }
                b'G' => {
                    self.take(8)?;
                    self.push(Node::Float)
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    self.string(n)?
                }
                0x8c => {
                    let n = usize::from(self.u8()?);
                    self.string(n)?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.global(module, name)?
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (&self.nodes[module], &self.nodes[name]) {
                        (Node::Str(m), Node::Str(n)) => {
                            let (m, n) = (m.clone(), n.clone());
                            self.global(&m, &n)?
                        }
                        _ => return Err(bad("STACK_GLOBAL without two strings")),
                    }
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Node::Tuple(items))
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.push(Node::Tuple(items))
                }
                b'Q' => self.persistent()?,
                b'R' => self.reduce()?,
                b'b' => {
                    // BUILD sets attributes (an OrderedDict's `_metadata`): nothing a
                    // state_dict's numbers depend on, so the state is dropped. A NumPy
                    // dtype's or array's state is what it is, and is kept.
                    let state = self.pop()?;
                    let target = self.top()?;
                    match self.nodes[target] {
                        Node::Dict(_) | Node::Tensor { .. } => {}
                        Node::Dtype { .. } | Node::Array(None) => self.build_numpy(target, state)?,
                        ref n => return Err(bad(format!("BUILD on {}", n.kind()))),
                    }
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.set_items(vec![key, value])?
                }
                b'u' => {
                    let pairs = self.pop_mark()?;
                    self.set_items(pairs)?
                }
                b'a' => {
                    let item = self.pop()?;
                    self.append(vec![item])?
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?
                }
                b'q' => {
                    let i = u32::from(self.u8()?);
                    self.memo.insert(i, self.top()?);
                }
                b'r' => {
                    let i = self.u32()?;
                    self.memo.insert(i, self.top()?);
                }
                0x94 => {
                    let i = self.memo.len() as u32;
                    self.memo.insert(i, self.top()?);
                }
                b'h' | b'j' => {
                    let i = if op == b'h' { u32::from(self.u8()?) } else { self.u32()? };
                    let id = *self
                        .memo
                        .get(&i)
                        .ok_or_else(|| bad(format!("memo entry {i} is read before it is written")))?;
                    self.stack.push(id);
                }
                other => {
                    return Err(bad(format!(
                        "opcode {:?} (0x{other:02x}) at byte {} is not one a state_dict of tensors uses",
                        other as char,
                        self.at - 1
                    )))
                }
            }
        }
    }
}

fn machine(data: &[u8], allowed: Allowed) -> Machine<'_> {
    Machine { allowed, data, at: 0, nodes: Vec::new(), stack: Vec::new(), marks: Vec::new(), memo: HashMap::new() }
}

/// The arrays of a pickled dict of NumPy float arrays (`pickle.dump({'W1': W1, ...})`), in
/// the dict's order, as f32 in C order (a Fortran-ordered array's data is reordered as
/// NumPy does). Each array's bytes are a part of the pickle, read once per reference: the
/// file's [`ReadBudget`](super::ReadBudget) bounds an array that the memo names twice.
pub(crate) fn numpy_arrays(data: &[u8]) -> Result<Vec<(String, crate::tensor::Tensor)>> {
    let mut m = machine(data, Allowed::NumPy);
    let root = m.run().map_err(|e| match e {
        Error::Format(msg) => Error::Format(msg.replacen("PyTorch pickle", "pickle of NumPy arrays", 1)),
        other => other,
    })?;
    let Node::Dict(entries) = &m.nodes[root] else {
        return Err(bad_numpy(format!("the file holds {}, not a dict of arrays", m.nodes[root].kind())));
    };
    let mut budget = super::ReadBudget::for_file(data.len() as u64);
    let mut out: Vec<(String, crate::tensor::Tensor)> = Vec::with_capacity(entries.len());
    for &(k, v) in entries {
        let name = m.text(k).ok_or_else(|| bad_numpy(format!("a key is {}, not a string", m.nodes[k].kind())))?;
        let Node::Array(Some(a)) = &m.nodes[v] else {
            return Err(bad_numpy(format!("{name:?} holds {}, not a NumPy array", m.nodes[v].kind())));
        };
        if out.iter().any(|(n, _)| *n == name) {
            return Err(bad_numpy(format!("the key {name:?} appears twice")));
        }
        let Node::Dtype { kind, order } = &m.nodes[a.dtype] else {
            return Err(bad_numpy(format!("array {name}: no dtype")));
        };
        // A one-byte or native type has order '|' or '='; a float's is '<' or '>'.
        let descr = format!("{}{kind}", order.unwrap_or('<'));
        let shape: Vec<usize> = a
            .shape
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| bad_numpy(format!("array {name}: a dimension of {d}"))))
            .collect::<Result<_>>()?;
        let (at, len) = a.data;
        budget.take(len as u64, format_args!("array {name} ({len} bytes)"))?;
        let t = super::npy::array_from_raw(&descr, &shape, a.fortran, &data[at..at + len]).map_err(|e| match e {
            Error::Format(msg) => bad_numpy(format!("array {name}: {}", msg.trim_start_matches(".npy: "))),
            other => other,
        })?;
        out.push((name, t));
    }
    Ok(out)
}

/// The tensors of a pickled state_dict, in its order.
pub(crate) fn state_dict(data: &[u8]) -> Result<Vec<TensorRef>> {
    let mut m = machine(data, Allowed::Torch);
    let root = m.run()?;
    let Node::Dict(entries) = &m.nodes[root] else {
        return Err(bad(format!(
            "the file holds {}, not a state_dict: save model.state_dict() with torch.save",
            m.nodes[root].kind()
        )));
    };
    let mut out: Vec<TensorRef> = Vec::new();
    for &(k, v) in entries {
        let Node::Str(name) = &m.nodes[k] else {
            return Err(bad(format!("a state_dict key is {}, not a string", m.nodes[k].kind())));
        };
        let Node::Tensor { storage, offset, size, stride } = &m.nodes[v] else {
            return Err(bad(format!(
                "{name:?} holds {}, not a tensor: neurite reads a state_dict of tensors (save model.state_dict(), not a checkpoint dict)",
                m.nodes[v].kind()
            )));
        };
        let Node::Storage { dtype, key, numel } = &m.nodes[*storage] else {
            return Err(bad("a tensor without a storage"));
        };
        if out.iter().any(|t| &t.name == name) {
            return Err(bad(format!("the key {name:?} appears twice")));
        }
        out.push(TensorRef {
            name: name.clone(),
            dtype: *dtype,
            storage: key.clone(),
            storage_numel: *numel,
            offset: *offset,
            size: size.clone(),
            stride: stride.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pickle torch 2.15 writes for `{"0.bias": tensor of 3 floats}`, with its memo.
    fn one_tensor() -> Vec<u8> {
        let mut p = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\x06\x00\x00\x000.biasq\x02".to_vec();
        p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04");
        p.extend_from_slice(b"ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x03tq\x08Q");
        p.extend_from_slice(b"K\x00K\x03\x85K\x01\x85\x89h\x00)Rq\x09tq\x0aRq\x0bu}q\x0cbq\x0d.");
        p
    }

    #[test]
    fn a_state_dict_pickle_gives_its_tensors() {
        let t = state_dict(&one_tensor()).unwrap();
        assert_eq!(
            t,
            vec![TensorRef {
                name: "0.bias".into(),
                dtype: StorageType::F32,
                storage: "0".into(),
                storage_numel: 3,
                offset: 0,
                size: vec![3],
                stride: vec![1],
            }]
        );
    }

    #[test]
    fn code_is_never_called() {
        // pickle.dumps of os.system("echo hi"), protocol 2.
        let evil = b"\x80\x02cposix\nsystem\nq\x00X\x07\x00\x00\x00echo hiq\x01\x85q\x02Rq\x03.";
        let err = state_dict(evil).unwrap_err().to_string();
        assert!(err.contains("refuses the global posix.system"), "{err}");
        let evil = b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93.";
        assert!(state_dict(evil).unwrap_err().to_string().contains("refuses the global builtins.eval"));
        // Text opcodes of protocol 0 (INST, OBJ) are not read at all.
        assert!(state_dict(b"(ios\nsystem\n.").unwrap_err().to_string().contains("opcode 'i'"));
    }

    #[test]
    fn damaged_pickles_are_errors_not_panics() {
        let good = one_tensor();
        for cut in 0..good.len() {
            assert!(state_dict(&good[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..good.len() {
            for v in [0u8, 0x7f, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = state_dict(&b);
            }
        }
        assert!(state_dict(b"\x80\x02K\x01.").unwrap_err().to_string().contains("an int, not a state_dict"));
        assert!(state_dict(b"\x80\x02h\x05.").unwrap_err().to_string().contains("memo entry 5"));
    }

    #[test]
    fn memo_references_share_instead_of_copying() {
        // A list that is appended to itself a million times stays one arena node per op.
        let mut p = b"\x80\x02]q\x00".to_vec();
        for _ in 0..100_000 {
            p.extend_from_slice(b"h\x00a");
        }
        p.push(b'.');
        assert!(state_dict(&p).unwrap_err().to_string().contains("a list, not a state_dict"));
    }

    /// `{"a": _frombuffer(<buffer>, dtype('f4'), <shape>, <order>)}` with protocol 5, as NumPy
    /// writes it: `buffer` is the opcode and data of the buffer, `shape` the tuple's opcodes.
    fn frombuffer(module: &str, buffer: &[u8], shape: &[u8], order: &str) -> Vec<u8> {
        let mut p = b"\x80\x05}(\x8c\x01a\x8c".to_vec();
        p.push(module.len() as u8);
        p.extend_from_slice(module.as_bytes());
        p.extend_from_slice(b"\x8c\x0b_frombuffer\x93(");
        p.extend_from_slice(buffer);
        p.extend_from_slice(b"\x8c\x05numpy\x8c\x05dtype\x93\x8c\x02f4\x89\x88\x87R");
        p.extend_from_slice(b"(K\x03\x8c\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb");
        p.extend_from_slice(shape);
        p.push(0x8c);
        p.push(order.len() as u8);
        p.extend_from_slice(order.as_bytes());
        p.extend_from_slice(b"tRu.");
        p
    }

    /// A BYTEARRAY8 of `data`.
    fn bytearray(data: &[u8]) -> Vec<u8> {
        let mut b = vec![0x96];
        b.extend_from_slice(&(data.len() as u64).to_le_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn protocol_5_arrays_read_as_the_same_arrays_pickled_with_protocol_4() {
        // Written by NumPy 2.4 (scripts/numpy_pickle5.py): every kind of array with protocol 5
        // (`_frombuffer`, spelled `numpy.core.numeric` as NumPy 1 writes it), and protocol 4.
        let p5 = numpy_arrays(include_bytes!("../../tests/fixtures/numpy_p5_mixed.pkl")).unwrap();
        let p4 = numpy_arrays(include_bytes!("../../tests/fixtures/numpy_p5_mixed_p4.pkl")).unwrap();
        let names: Vec<&str> = p5.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["c2", "f2", "f3", "be", "ro", "empty", "strided"]);
        assert_eq!(p5.len(), p4.len());
        for ((n5, t5), (n4, t4)) in p5.iter().zip(&p4) {
            assert_eq!(n5, n4);
            assert_eq!(t5.shape(), t4.shape(), "{n5}");
            let bits = |t: &crate::tensor::Tensor| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(t5), bits(t4), "{n5}");
        }
        // And they are NumPy's values, in C order: np.arange(24).reshape(2, 3, 4) stored in
        // Fortran order, arange(5, dtype='>f4') / 7, the columns 0, 2, 4 of arange(20).reshape(4, 5).
        let get = |name: &str| p5.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone()).unwrap();
        assert_eq!(get("f3").shape(), [2, 3, 4]);
        assert_eq!(get("f3").to_vec(), (0..24).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(get("be").to_vec(), (0..5).map(|i| i as f32 / 7.0).collect::<Vec<_>>());
        assert_eq!(get("empty").shape(), [0, 3]);
        assert_eq!(get("strided").to_vec(), [0., 2., 4., 5., 7., 9., 10., 12., 14., 15., 17., 19.]);
        assert_eq!(get("f2").shape(), [4, 3]);
    }

    #[test]
    fn frombuffer_is_read_with_its_checks_and_nothing_else_is_called() {
        let four = bytearray(&1.5f32.to_le_bytes());
        let one = b"K\x01\x85";
        for module in ["numpy._core.numeric", "numpy.core.numeric"] {
            let a = numpy_arrays(&frombuffer(module, &four, one, "C")).unwrap();
            assert_eq!((a[0].0.as_str(), a[0].1.to_vec()), ("a", vec![1.5]));
            // In-band bytes (a read-only array) as well as a bytearray.
            let bytes = [&b"C\x04"[..], &1.5f32.to_le_bytes()].concat();
            assert_eq!(numpy_arrays(&frombuffer(module, &bytes, one, "F")).unwrap()[0].1.to_vec(), [1.5]);
        }
        // Sizes are checked before anything is allocated: a shape of 10^12 with 4 bytes.
        let huge = b"\x8a\x06\x00\x10\xa5\xd4\xe8\x00\x85";
        let err = numpy_arrays(&frombuffer("numpy._core.numeric", &four, huge, "C")).unwrap_err().to_string();
        assert!(err.contains("declares 4000000000000 bytes of data, the file holds 4"), "{err}");
        let two = b"K\x02\x85";
        let err = numpy_arrays(&frombuffer("numpy._core.numeric", &four, two, "C")).unwrap_err().to_string();
        assert!(err.contains("array a:") && err.contains("declares 8 bytes"), "{err}");
        let err = numpy_arrays(&frombuffer("numpy._core.numeric", &four, one, "K")).unwrap_err().to_string();
        assert!(err.contains("order is \"K\", not 'C' or 'F'"), "{err}");
        let err = numpy_arrays(&frombuffer("numpy._core.numeric", b"K\x07", one, "C")).unwrap_err().to_string();
        assert!(err.contains("_frombuffer is given an int, not the array's bytes"), "{err}");
        // Only that callable of the module, and only for NumPy arrays.
        let mut other = frombuffer("numpy._core.numeric", &four, one, "C");
        let i = other.windows(11).position(|w| w == b"_frombuffer").unwrap();
        other[i..i + 11].copy_from_slice(b"_fromfilexx");
        let err = numpy_arrays(&other).unwrap_err().to_string();
        assert!(err.contains("refuses the global numpy._core.numeric._fromfilexx"), "{err}");
        let err = state_dict(&frombuffer("numpy._core.numeric", &four, one, "C")).unwrap_err().to_string();
        assert!(err.contains("refuses the global numpy._core.numeric._frombuffer"), "{err}");
        // An out-of-band buffer is not in the file.
        let err = numpy_arrays(&frombuffer("numpy._core.numeric", b"\x97\x98", one, "C")).unwrap_err().to_string();
        assert!(err.contains("out-of-band buffer"), "{err}");
        // Every truncation of a real protocol-5 pickle is an error, not a panic.
        let good = include_bytes!("../../tests/fixtures/numpy_p5_mixed.pkl");
        for cut in 0..good.len() {
            assert!(numpy_arrays(&good[..cut]).is_err(), "cut at {cut}");
        }
    }
}
