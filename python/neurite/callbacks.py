"""What ``fit`` returns."""


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
