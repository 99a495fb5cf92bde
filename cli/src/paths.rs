//! Output paths, checked before any work: a command writes only the files its own flags
//! name, never over one of its inputs or a checkpoint, and learns that a path cannot be
//! written before it trains or converts anything, not after.

use std::path::{Component, Path, PathBuf};

use neurite::error::{Error, Result};

/// The file `path` names, spelled canonically: its longest existing ancestor's canonical path
/// (symbolic links followed) joined with the components that do not exist yet, `.` dropped
/// and `..` applied, so that a file a command is about to create in a folder it is about to
/// create (a checkpoint directory) is compared too. `None` when nothing of it resolves.
fn canonical(path: &Path) -> Option<PathBuf> {
    let absolute = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().ok()?.join(path) };
    let parts: Vec<Component<'_>> = absolute.components().collect();
    let (mut out, k) = (0..=parts.len())
        .rev()
        .find_map(|k| parts[..k].iter().collect::<PathBuf>().canonicalize().ok().map(|p| (p, k)))?;
    for part in &parts[k..] {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

/// Whether `a` and `b` name the same file: the same canonical path, or (both existing) the
/// same device and inode, which also catches hard links.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            if (x.dev(), x.ino()) == (y.dev(), y.ino()) {
                return true;
            }
        }
    }
    matches!((canonical(a), canonical(b)), (Some(x), Some(y)) if x == y)
}

/// Checks, before any work, that the file `path` given with `flag` can be written: it is not
/// a directory, its directory exists and takes a new file, and it is none of `inputs` (each
/// with what it is: `the model of --model`), which writing it would destroy.
pub(crate) fn check_output(flag: &str, path: &Path, inputs: &[(&str, &Path)]) -> Result<()> {
    if path.is_dir() {
        return Err(Error::Io(format!(
            "{flag} {}: is a directory; give the path of a file in it (such as {})",
            path.display(),
            path.join("model.safetensors").display()
        )));
    }
    if let Some((what, input)) = inputs.iter().find(|(_, input)| same_file(path, input)) {
        let same =
            if input.as_os_str() == path.as_os_str() { String::new() } else { format!(" ({})", input.display()) };
        return Err(Error::Value(format!(
            "{flag} {} is {what}{same}: this command must not write over it; give another path",
            path.display()
        )));
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::Io(format!("{flag} {}: the directory {} does not exist", path.display(), dir.display())));
    }
    let probe = dir.join(format!(".neurite-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .map_err(|e| Error::Io(format!("{flag} {}: cannot write there: {e}", path.display())))?;
    std::fs::remove_file(&probe).map_err(|e| Error::io(&probe, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_the_same_however_its_path_is_spelled() {
        let dir = std::env::temp_dir().join(format!("neurite-paths-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let file = dir.join("m.safetensors");
        std::fs::write(&file, b"x").unwrap();
        assert!(same_file(&file, &dir.join("sub/../m.safetensors")));
        assert!(same_file(&dir.join("new"), &dir.join("sub/../new")), "not yet written, same name");
        assert!(same_file(&dir.join("later/ck/f"), &dir.join("later/./ck/f")), "in a folder not yet made");
        assert!(!same_file(&file, &dir.join("other")));
        #[cfg(unix)]
        {
            std::fs::hard_link(&file, dir.join("link")).unwrap();
            assert!(same_file(&file, &dir.join("link")), "a hard link is the same file");
        }
        let e = check_output("--out", &file, &[("the file being imported", &dir.join("./m.safetensors"))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--out") && e.contains("is the file being imported"), "{e}");
        let e = check_output("--save", &dir, &[]).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
