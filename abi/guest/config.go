package guest

import (
	"strconv"
	"time"

	"github.com/ffwasmhost/ffwasmhost/abi"
)

// Config returns the value of key, one of the configuration keys the
// plugin declares in Plugin.Config (ABI 1.3): the operator's value, else
// the key's default, as text (see ConfigInt, ConfigBool and
// ConfigDuration for the other types). It is available during a tick
// only; a key the plugin does not declare fails with StatusInvalid.
//
// A value may be a secret the operator keeps out of the configuration
// file. The host never logs or shows it; whatever the plugin logs or
// writes is the plugin's own doing, so do not log it.
func (c *Conn) Config(key string) (string, error) {
	out, n := outArgs(c.out)
	payload, err := c.finish(hostConfigGet(stringPtr(key), uint32(len(key)), out, n))
	if err != nil {
		return "", err
	}
	return string(payload), nil
}

// ConfigInt returns the value of an int key.
func (c *Conn) ConfigInt(key string) (int64, error) {
	s, err := c.Config(key)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, &Error{Status: abi.StatusInvalid, Message: "config key " + key + " is not an int"}
	}
	return n, nil
}

// ConfigBool returns the value of a bool key.
func (c *Conn) ConfigBool(key string) (bool, error) {
	s, err := c.Config(key)
	if err != nil {
		return false, err
	}
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &Error{Status: abi.StatusInvalid, Message: "config key " + key + " is not a bool"}
}

// ConfigDuration returns the value of a duration key (the host hands it
// over in whole milliseconds).
func (c *Conn) ConfigDuration(key string) (time.Duration, error) {
	ms, err := c.ConfigInt(key)
	if err != nil {
		return 0, err
	}
	return time.Duration(ms) * time.Millisecond, nil
}
