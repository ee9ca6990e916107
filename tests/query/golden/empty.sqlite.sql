-- q: 
1
-- params: []
