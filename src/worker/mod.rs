//! Background loops: the notifier that turns alert fires into messages and delivers them.
