package client

import "github.com/prometheus/prometheus/model/labels"

type labelsLabel = labels.Label
