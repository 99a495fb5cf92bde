"""What ``fit`` returns, and the callbacks it takes."""

import os


class History:
    """Keras' ``History``: ``history`` maps 'loss', 'accuracy', 'val_loss', 'val_accuracy'
    (those that were computed) to one value per epoch; ``epoch`` lists the epochs from 0;
    ``params`` holds the fit's settings; ``model`` is the model trained."""

    def __init__(self, history, params, model):
        self.history = history
        self.epoch = list(range(len(history.get("loss", []))))
        self.params = params
        self.model = model

    def __repr__(self):
        return f"<History: {len(self.epoch)} epochs, {sorted(self.history)}>"


class BackupAndRestore:
    """Keras' ``BackupAndRestore``: ``fit`` writes a checkpoint into ``backup_dir`` at the end
    of each epoch (and every ``save_freq`` steps when it is a number), and when Ctrl-C stops
    it; the next ``fit`` of the same model with the same arguments continues from there, to
    the same numbers as a fit that was never stopped. The checkpoint is the library's (the one
    ``neurite train --resume`` reads); it is deleted when the fit ends, unless
    ``delete_checkpoint=False``."""

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        if save_freq != "epoch" and (int(save_freq) != save_freq or save_freq < 1):
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch' or a number of steps, got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = bool(delete_checkpoint)

    def _args(self):
        every = 0 if self.save_freq == "epoch" else int(self.save_freq)
        return (self.backup_dir, every, self.delete_checkpoint)
