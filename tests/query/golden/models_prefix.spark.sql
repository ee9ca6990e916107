-- q: gpt_5%
startswith(`model`, :p1)
-- params: ['gpt_5%']
