-- q: 
TRUE
-- params: []
