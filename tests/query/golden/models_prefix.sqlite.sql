-- q: gpt_5%
substr("model", 1, length(?1)) = ?1
-- params: ['gpt_5%']
