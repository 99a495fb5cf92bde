//! The parameter store (see [`ParamStore`]).

use std::ops::Range;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::Var;
use crate::error::{shape_str, Error, Result};
use crate::tensor::shape::numel;
use crate::tensor::Tensor;

/// Where one named tensor lives in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamInfo {
    /// Its name (`dense/kernel`, `dense_1/bias`, ...).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Index of its first value in the flat buffer.
    pub offset: usize,
}

impl ParamInfo {
    /// Its values' positions in the flat buffer.
    pub fn range(&self) -> Range<usize> {
        self.offset..self.offset + numel(&self.shape)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    values: Vec<f32>,
    entries: Vec<ParamInfo>,
    /// Counts changes, so that a backward pass can tell that the parameters it was
    /// recorded with were changed in place since (an optimiser step before `backward`).
    version: u64,
    /// Counts tensors added, so that the engine can tell the layout is still the one its
    /// buffers were made for without comparing it.
    generation: u64,
}

impl Inner {
    /// All values, end to end.
    pub(crate) fn values(&self) -> &[f32] {
        &self.values
    }

    /// All values, for an in-place update.
    pub(crate) fn values_mut(&mut self) -> &mut [f32] {
        self.version += 1;
        &mut self.values
    }

    /// All values, for an update of values that no recorded backward pass reads (a batch
    /// normalisation's moving statistics, updated by its forward pass as in Keras): the version
    /// stays, so that the backward passes recorded before are still valid.
    pub(crate) fn untracked_values_mut(&mut self) -> &mut [f32] {
        &mut self.values
    }

    /// All values for an in-place update, and the version they will have meanwhile.
    pub(crate) fn values_mut_with_version(&mut self) -> (&mut [f32], u64) {
        self.version += 1;
        (&mut self.values, self.version)
    }

    pub(crate) fn version(&self) -> u64 {
        self.version
    }
}

/// A model's parameters: its named tensors, end to end in one flat buffer.
///
/// This is the one owner of a model's parameters. The training engine updates the flat
/// buffer in place; the autograd path sees the same numbers through [`Var`]s that read and
/// write the store ([`ParamStore::add`] returns one); model files, checkpoints and the
/// import and export of other formats read and write it by name. Nothing is copied in and
/// out between those views.
///
/// A `ParamStore` is a shared handle, as a `Var` is: cloning it gives another handle to the
/// same parameters ([`ParamStore::deep_clone`] copies them).
///
/// ```
/// use neurite::{ParamStore, Tensor};
/// let store = ParamStore::new();
/// let w = store.add("dense/kernel", &Tensor::matrix([[0.1, 0.3], [0.2, 0.4]]))?;
/// store.add("dense/bias", &Tensor::vector(&[0.1, 0.2]))?;
/// assert_eq!(store.names(), vec!["dense/kernel", "dense/bias"]);
/// assert_eq!(store.numel(), 6);
/// // The Var and the store are the same numbers.
/// w.set_value(Tensor::zeros(&[2, 2]))?;
/// assert_eq!(store.get("dense/kernel")?.to_vec(), vec![0.0; 4]);
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ParamStore {
    inner: Arc<RwLock<Inner>>,
}

fn poisoned() -> Error {
    Error::Value(
        "the parameter store is unusable: a thread panicked while it held the parameters, which may be half-updated"
            .into(),
    )
}

impl ParamStore {
    /// An empty store.
    pub fn new() -> ParamStore {
        ParamStore::default()
    }

    pub(crate) fn read(&self) -> Result<RwLockReadGuard<'_, Inner>> {
        self.inner.read().map_err(|_| poisoned())
    }

    pub(crate) fn write(&self) -> Result<RwLockWriteGuard<'_, Inner>> {
        self.inner.write().map_err(|_| poisoned())
    }

    /// Identifies the store and its list of tensors: two stores, or one store before and
    /// after a tensor was added, never have the same key.
    pub(crate) fn layout_key(&self) -> (usize, u64) {
        (Arc::as_ptr(&self.inner) as usize, self.read().map(|i| i.generation).unwrap_or(u64::MAX))
    }

    /// Whether two handles name the same store.
    pub fn same_as(&self, other: &ParamStore) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Appends a tensor under `name` and returns the parameter (a [`Var`] that needs a
    /// gradient) through which autograd reads and updates it. Names are unique.
    pub fn add(&self, name: &str, value: &Tensor) -> Result<Var> {
        let index = {
            let mut inner = self.write()?;
            if inner.entries.iter().any(|e| e.name == name) {
                return Err(Error::Value(format!("parameter store: there is already a tensor named {name:?}")));
            }
            let offset = inner.values.len();
            inner.values.extend(value.to_vec());
            inner.entries.push(ParamInfo { name: name.to_string(), shape: value.shape().to_vec(), offset });
            inner.version += 1;
            inner.generation += 1;
            inner.entries.len() - 1
        };
        Ok(Var::stored(self.clone(), index))
    }

    /// The parameter named `name`, as a new [`Var`] on the store (its gradient is its own).
    pub fn var(&self, name: &str) -> Result<Var> {
        Ok(Var::stored(self.clone(), self.index_of(name)?))
    }

    fn index_of(&self, name: &str) -> Result<usize> {
        let inner = self.read()?;
        inner.entries.iter().position(|e| e.name == name).ok_or_else(|| {
            let names: Vec<&str> = inner.entries.iter().map(|e| e.name.as_str()).collect();
            Error::Value(format!("parameter store: no tensor named {name:?} (have {})", names.join(", ")))
        })
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.read().map(|i| i.entries.len()).unwrap_or(0)
    }

    /// Whether the store holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total number of values.
    pub fn numel(&self) -> usize {
        self.read().map(|i| i.values.len()).unwrap_or(0)
    }

    /// The tensors' names, in order.
    pub fn names(&self) -> Vec<String> {
        self.infos().into_iter().map(|e| e.name).collect()
    }

    /// Name, shape and place of every tensor, in order.
    pub fn infos(&self) -> Vec<ParamInfo> {
        self.read().map(|i| i.entries.clone()).unwrap_or_default()
    }

    /// A copy of the tensor named `name`.
    pub fn get(&self, name: &str) -> Result<Tensor> {
        self.get_index(self.index_of(name)?)
    }

    pub(crate) fn get_index(&self, index: usize) -> Result<Tensor> {
        let inner = self.read()?;
        let entry = inner.entries.get(index).ok_or_else(|| Error::Index(format!("parameter {index} is unknown")))?;
        Tensor::from_vec(inner.values[entry.range()].to_vec(), &entry.shape)
    }

    /// Tensor `index`, for [`Var::value`], which cannot fail: the index is one the store
    /// gave out, and a store is poisoned only by a panic inside neurite while it held the
    /// parameters (a bug, already reported by that panic), after which the values read are
    /// the ones that thread left. The fallible methods report that poisoning as an error.
    pub(crate) fn tensor_unchecked(&self, index: usize) -> Tensor {
        let inner = self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        match inner.entries.get(index) {
            Some(e) => Tensor::from_parts(inner.values[e.range()].to_vec(), &e.shape),
            None => Tensor::zeros(&[0]),
        }
    }

    /// The shape of tensor `index` (see [`ParamStore::tensor_unchecked`]).
    pub(crate) fn shape_unchecked(&self, index: usize) -> Vec<usize> {
        let inner = self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.entries.get(index).map(|e| e.shape.clone()).unwrap_or_default()
    }

    pub(crate) fn info(&self, index: usize) -> Result<ParamInfo> {
        let inner = self.read()?;
        inner.entries.get(index).cloned().ok_or_else(|| Error::Index(format!("parameter {index} is unknown")))
    }

    /// Overwrites the tensor named `name` with `value` (same shape).
    pub fn set(&self, name: &str, value: &Tensor) -> Result<()> {
        self.set_index(self.index_of(name)?, value)
    }

    pub(crate) fn set_index(&self, index: usize, value: &Tensor) -> Result<()> {
        let mut inner = self.write()?;
        let entry =
            inner.entries.get(index).cloned().ok_or_else(|| Error::Index(format!("parameter {index} is unknown")))?;
        if value.shape() != entry.shape.as_slice() {
            return Err(Error::Shape(format!(
                "parameter {}: a value of shape {} for a tensor of shape {}",
                entry.name,
                shape_str(value.shape()),
                shape_str(&entry.shape)
            )));
        }
        let values = value.to_vec();
        inner.values_mut()[entry.range()].copy_from_slice(&values);
        Ok(())
    }

    /// Runs `f` on the values of tensor `index`, for an in-place update.
    pub(crate) fn update_index<R>(&self, index: usize, f: impl FnOnce(&mut [f32]) -> R) -> Result<R> {
        let mut inner = self.write()?;
        let range = inner
            .entries
            .get(index)
            .map(ParamInfo::range)
            .ok_or_else(|| Error::Index(format!("parameter {index} is unknown")))?;
        Ok(f(&mut inner.values_mut()[range]))
    }

    /// A copy of every value, end to end (for [`ParamStore::restore`]: early stopping's
    /// best weights, a checkpoint).
    pub fn snapshot(&self) -> Result<Vec<f32>> {
        Ok(self.read()?.values.clone())
    }

    /// Puts back the values of a [`ParamStore::snapshot`].
    pub fn restore(&self, values: &[f32]) -> Result<()> {
        let mut inner = self.write()?;
        if values.len() != inner.values.len() {
            return Err(Error::Shape(format!(
                "restore: {} values for a store of {}",
                values.len(),
                inner.values.len()
            )));
        }
        inner.values_mut().copy_from_slice(values);
        Ok(())
    }

    /// Every tensor as `(name, copy)`, in order: the state dict.
    pub fn tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let inner = self.read()?;
        inner
            .entries
            .iter()
            .map(|e| Ok((e.name.clone(), Tensor::from_vec(inner.values[e.range()].to_vec(), &e.shape)?)))
            .collect()
    }

    /// A new store with a copy of these parameters.
    pub fn deep_clone(&self) -> Result<ParamStore> {
        let inner = self.read()?;
        let copy = Inner { values: inner.values.clone(), entries: inner.entries.clone(), version: 0, generation: 0 };
        Ok(ParamStore { inner: Arc::new(RwLock::new(copy)) })
    }

    /// Whether every value is finite (no NaN, no infinity).
    pub fn all_finite(&self) -> Result<bool> {
        Ok(self.read()?.values.iter().all(|v| v.is_finite()))
    }
}
