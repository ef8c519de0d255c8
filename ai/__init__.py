"""The AI layer: the signal ensemble, the veto, and the sources they draw on."""
