-- q: gpt_5%
starts_with("model", $1)
-- params: ['gpt_5%']
